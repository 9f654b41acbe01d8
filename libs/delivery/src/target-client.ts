import { Agent } from "undici";
import type { TargetConfig } from "@pyroscope-relay/config";

/** How much of an error response is kept for the failure record and the retry decision. */
const responseStartBytes = 1024;

export interface TargetResponse {
  status: number;
  retryAfter: string | undefined;
  /** The start of the response body (error responses only). */
  bodyStart: string;
}

export interface TargetRequest {
  /** Path below the endpoint URL's own path, e.g. `/ingest`. */
  path: string;
  query?: string;
  /** Flat list of header names and values; names may repeat (several Content-Type values). */
  headers: string[];
  body: Uint8Array;
  tenant: string | undefined;
}

/**
 * One endpoint's HTTP client: connection pool with the endpoint's TLS settings, its static
 * headers and auth, and `remote_timeout` for every attempt.
 */
export class TargetClient {
  private readonly agent: Agent;
  private readonly base: URL;
  private readonly basePath: string;
  private readonly staticHeaders: string[];
  private readonly hasStaticTenant: boolean;

  constructor(private readonly target: TargetConfig) {
    this.base = new URL(target.url);
    this.basePath = this.base.pathname.replace(/\/+$/, "");
    this.agent = new Agent({
      connect: {
        timeout: target.remoteTimeoutMs,
        ...(target.tls
          ? {
              ca: target.tls.ca,
              cert: target.tls.cert,
              key: target.tls.key,
              rejectUnauthorized: !target.tls.insecureSkipVerify,
              servername: target.tls.serverName,
            }
          : {}),
      },
    });
    this.staticHeaders = [...Object.entries(target.headers).flat(), ...authHeader(target)];
    this.hasStaticTenant = Object.keys(target.headers).some((name) => name.toLowerCase() === "x-scope-orgid");
  }

  /**
   * One request, bounded by `remote_timeout` (undici's own header and body timeouts: cheaper than a
   * timer signal per request); `signal` aborts it early (shutdown past its grace period).
   */
  async send(req: TargetRequest, signal: AbortSignal): Promise<TargetResponse> {
    // The query goes out exactly as built (already encoded), not re-encoded by a URL object.
    const path = `${this.basePath}${req.path}${req.query ? `?${req.query}` : ""}`;
    // The endpoint's configured tenant wins; otherwise the client's travels on (Alloy drops it).
    const tenant = !this.hasStaticTenant && req.tenant !== undefined ? ["X-Scope-OrgID", req.tenant] : [];
    const response = await this.agent.request({
      origin: this.base.origin,
      path,
      method: "POST",
      headers: [...req.headers, ...tenant, ...this.staticHeaders, "User-Agent", "pyroscope-relay"],
      body: req.body,
      headersTimeout: this.target.remoteTimeoutMs,
      bodyTimeout: this.target.remoteTimeoutMs,
      signal,
    });
    const retryAfter = response.headers["retry-after"];
    if (response.statusCode === 200) {
      await response.body.dump();
      return { status: 200, retryAfter: undefined, bodyStart: "" };
    }
    return {
      status: response.statusCode,
      retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
      bodyStart: await readStart(response.body),
    };
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

function authHeader(target: TargetConfig): string[] {
  switch (target.auth.kind) {
    case "basic":
      return ["Authorization", "Basic " + Buffer.from(`${target.auth.username}:${target.auth.password}`).toString("base64")];
    case "bearer":
      return ["Authorization", "Bearer " + target.auth.token];
    case "none":
      return [];
  }
}

async function readStart(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= responseStartBytes) {
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, responseStartBytes).toString("utf8");
}
