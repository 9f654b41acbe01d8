export { startWriter } from "./writer.js";
export type { Writer, WriterOptions } from "./writer.js";
