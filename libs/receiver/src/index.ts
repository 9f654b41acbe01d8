export { createReceiverApp } from "./receiver-app.js";
export { startReceiver, ReceiverListenError } from "./receiver-server.js";
export type { Receiver } from "./receiver-server.js";
export type { ReceiverContext } from "./receiver-context.js";
export { RequestError } from "./request-error.js";
export { ThrottledLog } from "./throttled-log.js";
