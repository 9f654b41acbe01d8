export { startWriter } from "./writer.js";
export type { Writer, WriterOptions } from "./writer.js";
export { TargetDelivery } from "./target-delivery.js";
export type { TargetDeliveryOptions } from "./target-delivery.js";
