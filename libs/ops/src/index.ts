export { createLogger } from "./logger.js";
export type { Logger } from "./logger.js";
export { RelayMetrics } from "./relay-metrics.js";
export type { WriteLatencyType } from "./relay-metrics.js";
export type { QueueStateReading } from "./queue-state-metrics.js";
export { parseListenAddr } from "./listen-addr.js";
export { startOpsServer } from "./ops-server.js";
export type { OpsServer } from "./ops-server.js";
