import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { timerDelay } from "@pyroscope-relay/config";
import type { CallOptions, Client, ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { createTransport } from "@connectrpc/connect/protocol-connect";
import { DebuginfoService } from "@pyroscope-relay/proto";
import type { DebuginfoUpstream } from "./debuginfo-upstream.js";
import { clientTenant, type ReceiverContext } from "./receiver-context.js";
import { tenantHeaderKey } from "./tenant.js";

/** Alloy's words when a receiver has no target to pass debuginfo calls to. */
export const noDownstreamMessage = "no downstream endpoints available";

/** The `method` of `pyroscope_receive_http_debuginfo_downstream_calls_total`, as Alloy names it. */
export type DebuginfoMethod = "ShouldInitiateUpload" | "UploadFinished" | "Upload";

/**
 * Counts a call its handler took, as Alloy's receive_http counts it when its handler returns: a
 * failure whatever failed it (no upstream, a tenant refused, the target, the client gone).
 */
export async function countedCall<T>(ctx: ReceiverContext, method: DebuginfoMethod, run: () => Promise<T>): Promise<T> {
  let result = "failure";
  try {
    const answer = await run();
    result = "success";
    return answer;
  } finally {
    ctx.metrics.debuginfoDownstreamCalls.inc({ component: ctx.config.label, method, result });
  }
}

/**
 * `debuginfo.v1alpha1.DebuginfoService`'s ShouldInitiateUpload and UploadFinished, passed through to
 * the receiver's upstream (its first target) as Alloy's receive_http does: the client waits for the
 * target's answer, and gets the target's error code when it fails (`unavailable` when it cannot be
 * reached, or when there is no upstream). The client's X-Scope-OrgID travels on.
 */
/** The largest ShouldInitiateUpload or UploadFinished request a receiver decodes. */
export const debuginfoCallMaxBytes = 64 * 1024;

export function debuginfoRoutes(ctx: ReceiverContext): (router: ConnectRouter) => void {
  // A reload may give the receiver another upstream: each call takes the one it has then.
  const clients = new WeakMap<DebuginfoUpstream, Client<typeof DebuginfoService>>();
  const call = <T>(
    method: DebuginfoMethod,
    handler: HandlerContext,
    run: (client: Client<typeof DebuginfoService>, options: CallOptions) => Promise<T>,
  ): Promise<T> =>
    countedCall(ctx, method, async () => {
      const upstream = ctx.debuginfo;
      if (upstream === undefined) throw new ConnectError(noDownstreamMessage, Code.Unavailable);
      let client = clients.get(upstream);
      if (client === undefined) clients.set(upstream, (client = upstreamClient(upstream)));
      const tenant = clientTenant(ctx, handler.values.get(tenantHeaderKey), [upstream.name]);
      // connect-es's transport takes a timeout of 0 as none (remote_timeout 0, as for profile delivery).
      const timeoutMs = timerDelay(upstream.callTimeoutMs);
      const options = { signal: handler.signal, timeoutMs, headers: tenant === undefined ? {} : { "X-Scope-OrgID": tenant } };
      try {
        return await run(client, options);
      } catch (err) {
        const error = ConnectError.from(err);
        ctx.warnings.warn(
          `debuginfo:${ctx.config.label}`,
          { component: ctx.config.label, method, target: upstream.name, err: error },
          "debuginfo call passed through to the target failed",
        );
        // The code and message pass on, not the target's response headers (connection headers among
        // them, which HTTP/2 forbids).
        throw new ConnectError(error.rawMessage, error.code, undefined, undefined, error);
      }
    });
  return (router) =>
    router.service(
      DebuginfoService,
      {
        shouldInitiateUpload: (request, handler) => call("ShouldInitiateUpload", handler, (c, options) => c.shouldInitiateUpload(request, options)),
        uploadFinished: (request, handler) => call("UploadFinished", handler, (c, options) => c.uploadFinished(request, options)),
      },
      // Both requests are a few hundred bytes. Their unknown fields pass on, as Alloy passes them (a
      // newer client's), but each decodes into ~150 bytes of heap from 2 on the wire: bounded, a
      // body of the Push's size (a 33 KB gzip) would decode into 2.5 GB.
      { readMaxBytes: debuginfoCallMaxBytes },
    );
}

async function* emptyBody(): AsyncIterable<Uint8Array> {}

/** A Connect client (binary protobuf, as Alloy's connect-go client speaks) over the upstream. */
function upstreamClient(upstream: DebuginfoUpstream): Client<typeof DebuginfoService> {
  const transport = createTransport({
    // Paths only: the upstream knows its base URL.
    baseUrl: "",
    httpClient: async (request) => {
      try {
        const response = await upstream.post({
          path: request.url,
          header: request.header,
          body: request.body ?? emptyBody(),
          signal: request.signal ?? new AbortController().signal,
        });
        return { ...response, trailer: new Headers() };
      } catch (err) {
        if (err instanceof ConnectError) throw err;
        throw new ConnectError(`target ${upstream.name}: ${(err as Error).message}`, Code.Unavailable, undefined, undefined, err);
      }
    },
    useBinaryFormat: true,
    interceptors: [],
    acceptCompression: [],
    sendCompression: null,
    compressMinBytes: 1024,
    readMaxBytes: 0xffffffff,
    writeMaxBytes: 0xffffffff,
  });
  return createClient(DebuginfoService, transport);
}
