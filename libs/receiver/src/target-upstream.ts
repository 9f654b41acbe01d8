import { Agent as HttpAgent, request as httpRequest } from "node:http";
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { pipeline } from "node:stream/promises";
import type { Logger } from "@pyroscope-relay/ops";
import type { TargetConfig } from "@pyroscope-relay/config";
import type { DebuginfoUpstream, UpstreamRequest, UpstreamResponse } from "./debuginfo-upstream.js";

const tlsVersions = { TLS10: "TLSv1", TLS11: "TLSv1.1", TLS12: "TLSv1.2", TLS13: "TLSv1.3" } as const;

/** The target's settings this simple client cannot apply; its calls fail rather than go out without them. */
export class UnsupportedUpstreamError extends Error {
  override readonly name = "UnsupportedUpstreamError";
}

/**
 * A target as a debuginfo upstream, over Node's HTTP client: its URL, TLS settings, `headers`,
 * `http_headers` and basic, bearer or authorization credentials (as loaded with the configuration).
 * Headers the target configures win over the client's: a configured X-Scope-OrgID replaces the
 * client's, as for profiles. An oauth2 block or a proxy is not applied: such a target's debuginfo
 * calls fail (and startup says so), they never go out unauthenticated or around the proxy.
 */
export function targetUpstream(target: TargetConfig, logger: Logger): DebuginfoUpstream {
  const base = new URL(target.url);
  const basePath = base.pathname.replace(/\/+$/, "");
  const https = base.protocol === "https:";
  const tls = target.tls;
  const agent = https
    ? new HttpsAgent({
        keepAlive: true,
        ...(tls === undefined
          ? {}
          : {
              ca: tls.ca,
              cert: tls.cert,
              key: tls.key,
              rejectUnauthorized: !tls.insecureSkipVerify,
              servername: tls.serverName,
              ...(tls.minVersion === undefined ? {} : { minVersion: tlsVersions[tls.minVersion] }),
            }),
      })
    : new HttpAgent({ keepAlive: true });
  const unsupported = target.auth.kind === "oauth2" ? "an oauth2 block" : target.proxy !== undefined ? "a proxy" : undefined;
  if (unsupported !== undefined) {
    logger.warn({ target: target.name }, `debuginfo calls passed through to this target fail: the pass-through cannot use ${unsupported}`);
  }
  const configured = configuredHeaders(target);
  return {
    name: target.name,
    callTimeoutMs: target.remoteTimeoutMs,
    async post(request: UpstreamRequest): Promise<UpstreamResponse> {
      if (unsupported !== undefined) {
        throw new UnsupportedUpstreamError(`target ${JSON.stringify(target.name)} uses ${unsupported}, which the debuginfo pass-through cannot use`);
      }
      const headers: OutgoingHttpHeaders = {};
      request.header.forEach((value, name) => {
        headers[name] = value;
      });
      Object.assign(headers, configured);
      const url = new URL(`${basePath}${request.path}`, base.origin);
      return new Promise<UpstreamResponse>((resolve, reject) => {
        const send = https ? httpsRequest : httpRequest;
        const req = send(url, { method: "POST", headers, agent, signal: request.signal }, (res) => {
          resolve({ status: res.statusCode ?? 0, header: webHeaders(res.headers), body: res });
        });
        req.on("error", reject);
        // A failure after the answer (the target answered early and closed) is the answer's business.
        pipeline(request.body, req).catch(reject);
      });
    },
    async close(): Promise<void> {
      agent.destroy();
    },
  };
}

/** The target's own headers, lowercased so that they replace the client's of the same name. */
function configuredHeaders(target: TargetConfig): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { "user-agent": "pyroscope-relay" };
  for (const [name, value] of Object.entries(target.headers)) headers[name.toLowerCase()] = value;
  for (const [name, values] of Object.entries(target.httpHeaders ?? {})) headers[name.toLowerCase()] = values;
  const authorization = authorizationOf(target.auth);
  if (authorization !== undefined) headers.authorization = authorization;
  return headers;
}

function authorizationOf(auth: TargetConfig["auth"]): string | undefined {
  switch (auth.kind) {
    case "basic":
      return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`;
    case "bearer":
      return `Bearer ${auth.token}`;
    case "authorization":
      return `${auth.type} ${auth.credentials}`;
    case "none":
    case "oauth2":
      return undefined;
  }
}

function webHeaders(headers: IncomingHttpHeaders): Headers {
  const web = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    for (const one of Array.isArray(value) ? value : value === undefined ? [] : [value]) web.append(name, one);
  }
  return web;
}
