export { startWriter } from "./writer.js";
export type { Writer, WriterOptions } from "./writer.js";
export { TargetWorker } from "./target-worker.js";
export { TargetClient } from "./target-client.js";
export { PermanentDeliveryError, RetryableDeliveryError } from "./delivery-error.js";
export { classifyError, classifyResponse } from "./retry-policy.js";
export { backoffDelay } from "./backoff.js";
export { parseRetryAfter } from "./retry-after.js";
