// Test support (not exported from the package): a debuginfo upstream over Node's HTTP client to a
// plain http URL, passing on the headers the receiver gives it. The relay's own upstream is the
// target's full HTTP client (libs/delivery's `debuginfoUpstream`, wired by apps/cli), which this
// library may not import; its rules (auth, tenant, TLS, proxies) are tested there.
import { Agent, request as httpRequest } from "node:http";
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { pipeline } from "node:stream/promises";
import type { DebuginfoUpstream, UpstreamRequest, UpstreamResponse } from "./debuginfo-upstream.js";

export function testUpstream(url: string, options: { name?: string; callTimeoutMs?: number; uploadTimeoutMs?: number } = {}): DebuginfoUpstream {
  const base = new URL(url);
  const basePath = base.pathname.replace(/\/+$/, "");
  const agent = new Agent({ keepAlive: true });
  return {
    name: options.name ?? "pyroscope",
    callTimeoutMs: options.callTimeoutMs ?? 10_000,
    uploadTimeoutMs: options.uploadTimeoutMs ?? 120_000,
    post(request: UpstreamRequest): Promise<UpstreamResponse> {
      const headers: OutgoingHttpHeaders = {};
      request.header.forEach((value, name) => {
        headers[name] = value;
      });
      return new Promise<UpstreamResponse>((resolve, reject) => {
        const req = httpRequest(new URL(`${basePath}${request.path}`, base.origin), { method: "POST", headers, agent, signal: request.signal }, (res) => {
          resolve({ status: res.statusCode ?? 0, header: webHeaders(res.headers), body: res });
        });
        req.on("error", reject);
        pipeline(request.body, req).catch(reject);
      });
    },
    async close(): Promise<void> {
      agent.destroy();
    },
  };
}

function webHeaders(headers: IncomingHttpHeaders): Headers {
  const web = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) web.append(name, one);
  }
  return web;
}
