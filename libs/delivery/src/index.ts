export { startWriter } from "./writer.js";
export type { Writer, WriterOptions } from "./writer.js";
export { debuginfoUpstream, DebuginfoUpstreamError } from "./debuginfo-upstream.js";
export type { DebuginfoRequest, DebuginfoResponse, DebuginfoUpstream, DebuginfoUpstreamOptions } from "./debuginfo-upstream.js";
