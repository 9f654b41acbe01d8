export { startWriter } from "./writer.js";
export type { Writer } from "./writer.js";
export { debuginfoUpstream } from "./debuginfo-upstream.js";
