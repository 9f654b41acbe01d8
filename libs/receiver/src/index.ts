export { startReceiver, ReceiverListenError } from "./receiver-server.js";
export type { Receiver } from "./receiver-server.js";
export type { ReceiverContext } from "./receiver-context.js";
export type { DebuginfoUpstream, UpstreamRequest, UpstreamResponse } from "./debuginfo-upstream.js";
export { RequestError } from "./request-error.js";
export { ThrottledLog } from "./throttled-log.js";
