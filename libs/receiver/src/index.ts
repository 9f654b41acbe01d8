export { startReceiver } from "./receiver-server.js";
export type { Receiver } from "./receiver-server.js";
export { ThrottledLog } from "./throttled-log.js";
export { BodyBudget } from "./body-budget.js";
