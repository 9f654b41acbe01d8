import { Code } from "@connectrpc/connect";
import { timerDelay } from "@pyroscope-relay/config";
import { isHttp2, type ServerRequest, type ServerResponse } from "./http-exchange.js";
import { countedCall, noDownstreamMessage } from "./debuginfo-service.js";
import { RequestError } from "@pyroscope-relay/ops";
import { clientTenant, type ReceiverContext } from "./receiver-context.js";
import { tenantHeader } from "./tenant.js";
import type { DebuginfoUpstream } from "./debuginfo-upstream.js";

export const uploadPathPrefix = "/debuginfo.v1alpha1.DebuginfoService/Upload/";

/**
 * `POST /debuginfo.v1alpha1.DebuginfoService/Upload/{gnu_build_id}`, passed through to the upstream as
 * Alloy's receive_http does: the body streams to the target (never held), and the client's answer
 * waits for the target's. Alloy's errors: 503 without an upstream, 502 when the target cannot be
 * reached or answers anything but 200. The whole upload has the shorter of the receiver's
 * `debug_info_upload_timeout` and the target's (pyroscope.write's endpoint has one too).
 */
export function debuginfoUploadHandler(ctx: ReceiverContext) {
  return async (req: ServerRequest, res: ServerResponse, encodedBuildId: string): Promise<void> => {
    // Refused before the call is counted, as Go's server (a bad escape) and Alloy's mux (a dot
    // segment) refuse these before its handler runs.
    const buildId = decodeBuildId(encodedBuildId);
    await countedCall(ctx, "Upload", () => passThrough(req, res, buildId));
    res.statusCode = 200;
    res.end();
  };

  async function passThrough(req: ServerRequest, res: ServerResponse, buildId: string): Promise<void> {
    const upstream = ctx.debuginfo;
    if (upstream === undefined) throw new RequestError(Code.Unavailable, noDownstreamMessage);
    const tenant = clientTenant(ctx, tenantHeader(req), [upstream.name]);
    const header = new Headers();
    if (tenant !== undefined) header.set("x-scope-orgid", tenant);
    for (const name of ["content-type", "content-length"]) {
      const value = req.headers[name];
      if (typeof value === "string") header.set(name, value);
    }
    const aborter = new AbortController();
    const deadlineMs = uploadDeadlineMs(ctx.config.debugInfoUploadTimeoutMs, upstream);
    const timer =
      deadlineMs > 0 ? setTimeout(() => aborter.abort(new Error(`the upload took longer than ${deadlineMs} ms`)), timerDelay(deadlineMs)).unref() : undefined;
    // While the target takes the upload the client's socket is quiet: server_write_timeout, which
    // destroys a quiet HTTP/1.1 socket, gives way to the upload's timeout, as Alloy moves its deadlines.
    if (!isHttp2(res)) req.setTimeout(timerDelay(deadlineMs));
    // The client gone (or cut off by the read deadline): the target's upload stops too.
    const clientGone = () => aborter.abort(new Error("the client went away"));
    res.once("close", clientGone);
    try {
      const response = await upstream.post({
        path: `${uploadPathPrefix}${encodeURIComponent(buildId)}`,
        header,
        // Left intact when the target fails first, so that the client still reads the 502.
        body: req.iterator({ destroyOnReturn: false }),
        signal: aborter.signal,
      });
      for await (const chunk of response.body) void chunk;
      if (response.status !== 200) {
        throw new RequestError(Code.Unavailable, `downstream upload: target ${upstream.name} answered HTTP ${response.status}`, { httpStatus: 502 });
      }
    } catch (err) {
      if (err instanceof RequestError) throw err;
      const reason = aborter.signal.aborted ? String((aborter.signal.reason as Error).message) : (err as Error).message;
      throw new RequestError(Code.Unavailable, `downstream upload: target ${upstream.name}: ${reason}`, { httpStatus: 502, cause: err });
    } finally {
      clearTimeout(timer);
      res.off("close", clientGone);
      if (!isHttp2(res)) req.setTimeout(ctx.config.writeTimeoutMs);
    }
  }
}

/** How long an upload to `upstream` may take: the shorter timeout of the receiver's and the target's; 0 (no bound, where Alloy fails at once) when neither has one. */
export function uploadDeadlineMs(receiverTimeoutMs: number, upstream: DebuginfoUpstream): number {
  const bounds = [receiverTimeoutMs, upstream.uploadTimeoutMs].filter((ms) => ms > 0);
  return bounds.length === 0 ? 0 : Math.min(...bounds);
}

function decodeBuildId(encoded: string): string {
  let buildId;
  try {
    buildId = decodeURIComponent(encoded);
  } catch (err) {
    throw new RequestError(Code.InvalidArgument, "gnu_build_id: not a valid percent-encoded path segment", { cause: err });
  }
  // Passed on as they are, they would be dot segments of the target's path, which a Go mux cleans
  // away and answers with a redirect: never an upload.
  if (buildId === "." || buildId === "..") throw new RequestError(Code.InvalidArgument, 'gnu_build_id: must not be "." or ".."');
  return buildId;
}
