// Test support: what a receiver's `http2` settings are when the block sets nothing (Go's defaults,
// the idle timeout following the http block's), written once for the specs that expect them.
import type { ReceiverHttp2 } from "./relay-config.js";

export function expectedHttp2Defaults(idleTimeoutMs: number): ReceiverHttp2 {
  return {
    maxConcurrentStreams: 100,
    maxReadFrameSize: 1 << 20,
    maxDecoderHeaderTableSize: 4096,
    maxUploadBufferPerStream: 1 << 20,
    maxUploadBufferPerConnection: 1 << 20,
    idleTimeoutMs,
  };
}
