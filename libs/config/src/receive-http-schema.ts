import { z } from "zod";
import { ComponentReference } from "./component-reference.js";
import { receiveHttpTlsSchema, type ReceiverTlsOptions } from "./receive-http-tls.js";
import type { ReceiverHttp2 } from "./relay-config.js";
import { alloyBoolean, alloyString, duration, nullAs, optionalBlock, wholeNumber, type FileReader } from "./schema-values.js";
import { describeValueType } from "./value-type.js";

const maxUint32 = 2 ** 32 - 1;
const maxInt32 = 2 ** 31 - 1;
/** Go's http2 defaults where Alloy leaves 0: 250 streams, 1 MiB frames and flow-control windows. */
const goDefaultStreams = 250;
const goDefaultBuffer = 1 << 20;
const minWindow = 65_535;

/**
 * `http > http2`, with Alloy's defaults. Go's server reads every attribute; Node has no equivalent for
 * max_handlers (unused by Go too), max_encoder_header_table_size, permit_prohibited_ciphers,
 * read_idle_timeout, ping_timeout and write_byte_timeout: they are accepted and have no effect.
 */
const http2Block = z.strictObject({
  enabled: alloyBoolean.default(true),
  max_concurrent_streams: wholeNumber(0, maxUint32).default(100),
  max_read_frame_size: wholeNumber(0, maxUint32)
    .refine((n) => n === 0 || (n >= 16_384 && n <= 16_777_215), { error: "must be 0 (1 MiB) or between 16384 and 16777215" })
    .default(0),
  max_decoder_header_table_size: wholeNumber(0, maxUint32).default(4096),
  max_upload_buffer_per_connection: wholeNumber(0, maxInt32).default(0),
  max_upload_buffer_per_stream: wholeNumber(0, maxInt32).default(0),
  idle_timeout: duration("0s"),
  max_handlers: wholeNumber(0).optional(),
  max_encoder_header_table_size: wholeNumber(0, maxUint32).optional(),
  permit_prohibited_ciphers: alloyBoolean.optional(),
  read_idle_timeout: duration("0s"),
  ping_timeout: duration("15s"),
  write_byte_timeout: duration("0s"),
});

type Http2Block = z.output<typeof http2Block>;

function http2Settings(http2: Http2Block, serverIdleTimeoutMs: number): ReceiverHttp2 {
  return {
    maxConcurrentStreams: http2.max_concurrent_streams || goDefaultStreams,
    maxReadFrameSize: http2.max_read_frame_size || goDefaultBuffer,
    maxDecoderHeaderTableSize: http2.max_decoder_header_table_size || 4096,
    maxUploadBufferPerStream: http2.max_upload_buffer_per_stream || goDefaultBuffer,
    // Go ignores a connection window smaller than HTTP/2's initial one.
    maxUploadBufferPerConnection: http2.max_upload_buffer_per_connection >= minWindow ? http2.max_upload_buffer_per_connection : goDefaultBuffer,
    idleTimeoutMs: http2.idle_timeout || serverIdleTimeoutMs,
  };
}

/**
 * The `grpc` block of Alloy's server settings. Alloy's receive_http starts a gRPC server there that
 * serves none of its APIs (only dskit's internal HTTP-over-gRPC tunnel), so the relay validates the
 * block and serves nothing on it; Push over gRPC is served on the http port (h2c or TLS).
 */
function grpcBlock(readFile: FileReader, tlsOptions: ReceiverTlsOptions) {
  return z.strictObject({
    listen_address: alloyString.optional(),
    listen_port: wholeNumber(0, 65535).optional(),
    conn_limit: wholeNumber(0).optional(),
    max_connection_age: duration("0s"),
    max_connection_age_grace: duration("0s"),
    max_connection_idle: duration("0s"),
    server_max_recv_msg_size: wholeNumber(0).optional(),
    server_max_send_msg_size: wholeNumber(0).optional(),
    server_max_concurrent_streams: wholeNumber(0, maxUint32).optional(),
    tls: optionalBlock("tls", receiveHttpTlsSchema(readFile, tlsOptions)),
  });
}

export const receiverReference = z.custom<ComponentReference>((value) => value instanceof ComponentReference, {
  error: (issue) => `expected a reference such as pyroscope.write.default.receiver, got ${describeValueType(issue.input)}`,
});

/**
 * The body of a `pyroscope.receive_http` component, with Alloy's defaults for every omitted
 * attribute. Files named by the tls blocks are read through `readFile` while validating, unless
 * `tlsOptions` says not to load their certificates (then no tls block yields settings).
 */
export function receiveHttpSchema(readFile: FileReader, tlsOptions: ReceiverTlsOptions = { loadCertificates: true }) {
  const httpBlock = z
    .strictObject({
      listen_address: alloyString.default(""),
      listen_port: wholeNumber(0, 65535).default(8080),
      // 0 means no limit, as in Alloy.
      conn_limit: wholeNumber(0).default(100),
      server_read_timeout: duration("30s"),
      server_write_timeout: duration("30s"),
      server_idle_timeout: duration("120s"),
      tls: optionalBlock("tls", receiveHttpTlsSchema(readFile, tlsOptions)),
      http2: optionalBlock("http2", http2Block),
    })
    // Alloy's receive_http turns http2 on whatever the block says (gRPC, debuginfo's too, is served
    // on the http port): h2c is always served; a block that turns it off is only warned about.
    .transform(({ http2, ...http }) => ({
      ...http,
      // Go's idle timeout 0 is the read timeout.
      http2: http2Settings(http2 ?? http2Block.parse({}), http.server_idle_timeout || http.server_read_timeout),
      http2DisabledIgnored: http2?.enabled === false,
    }));

  return z.strictObject({
    http: optionalBlock("http", httpBlock).transform((http) => http ?? httpBlock.parse({})),
    grpc: optionalBlock("grpc", grpcBlock(readFile, tlsOptions)),
    graceful_shutdown_timeout: duration("30s"),
    debug_info_upload_timeout: duration("2m"),
    forward_to: nullAs(
      [],
      z.array(receiverReference).min(1, { error: "must name at least one receiver: pyroscope.write.<label>.receiver or pyroscope.relabel.<label>.receiver" }),
    ),
  });
}

export type ReceiveHttpComponent = z.output<ReturnType<typeof receiveHttpSchema>>;
