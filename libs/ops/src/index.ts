export { createLogger } from "./logger.js";
export type { Logger, LoggerOptions } from "./logger.js";
export { RelayMetrics } from "./relay-metrics.js";
export type { QueueDepth, QueueDepthSource, WriterLabel } from "./relay-metrics.js";
export { ListenAddrError, parseListenAddr } from "./listen-addr.js";
export type { ListenAddr } from "./listen-addr.js";
export { OpsServerError } from "./ops-server-error.js";
export { startOpsServer } from "./ops-server.js";
export type { OpsServer, OpsServerOptions } from "./ops-server.js";
