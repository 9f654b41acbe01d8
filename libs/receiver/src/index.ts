export { startReceiver } from "./receiver-server.js";
export type { Receiver } from "./receiver-server.js";
export { BodyBudget } from "./body-budget.js";
