import { createHash, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import { parseListenAddr } from "@pyroscope-relay/ops";
import type { RequestHandler } from "express";

export interface AdminAccessOptions {
  /** `--server.http.admin-token`: when set, every request must carry `Authorization: Bearer <token>`. */
  token?: string;
  /** The ops server's listen address: without a token, the API is open only when it is loopback. */
  listenAddr: string;
}

/**
 * Who may use the admin API. With a token: bearer auth, compared in constant time. Without one: open
 * on a loopback address, refused (403) on any other, so that replay and purge are never open to the
 * network by default; and open only to requests addressed to a loopback host (`Host`), so that a web
 * page in a browser on the same machine cannot reach it under a name of its own (DNS rebinding),
 * and not sent from another site's page (`Origin`, `Sec-Fetch-Site`): a form or a `no-cors` fetch
 * could otherwise post to it (`POST /-/reload` reads no body). The dashboard is same-origin; curl
 * and the CLI send neither header.
 */
export function adminAccess(options: AdminAccessOptions): RequestHandler {
  if (options.token !== undefined) {
    const expected = digest(options.token);
    return (req, res, next) => {
      const given = /^Bearer +(\S+) *$/i.exec(req.get("authorization") ?? "")?.[1];
      // Digests have one length, so the comparison takes the same time whatever was sent.
      if (given !== undefined && timingSafeEqual(digest(given), expected)) return next();
      res
        .status(401)
        .set("WWW-Authenticate", 'Bearer realm="pyroscope-relay admin"')
        .json({ error: given === undefined ? "missing bearer token (Authorization: Bearer <token>)" : "invalid bearer token" });
    };
  }
  const { host } = parseListenAddr(options.listenAddr);
  if (isLoopback(host)) {
    return (req, res, next) => {
      const addressed = hostName(req.headers.host);
      if (crossSite(req.headers.origin, req.headers.host, req.headers["sec-fetch-site"])) {
        return void res
          .status(403)
          .json({ error: `the admin API takes no request from another site's page (Origin ${JSON.stringify(req.headers.origin ?? "")})` });
      }
      if (addressed !== undefined && isLoopback(addressed)) return next();
      res.status(403).json({
        error:
          `the admin API answers only requests addressed to a loopback host without a token, not Host ${JSON.stringify(req.headers.host ?? "")}; ` +
          "set --server.http.admin-token (or RELAY_ADMIN_TOKEN) to reach it by another name",
      });
    };
  }
  const message =
    `the admin API is disabled: the ops server listens on ${options.listenAddr}, beyond loopback, and no admin token is set; ` +
    "set --server.http.admin-token (or RELAY_ADMIN_TOKEN) to enable it";
  return (_req, res) => {
    res.status(403).json({ error: message });
  };
}

/** Loopback addresses only; "" (every interface), 0.0.0.0, :: and host names other than localhost are not. */
export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  const unmapped = host.replace(/^::ffff:/i, "");
  if (isIP(unmapped) === 4) return unmapped.startsWith("127.");
  return isIP(host) === 6 && /^(0{0,4}:){7}0{0,3}1$|^::1$/.test(host);
}

/** The host of a `Host` header, without its port (`[::1]:12345` is `::1`); undefined without one. */
export function hostName(header: string | undefined): string | undefined {
  if (header === undefined || header === "") return undefined;
  if (header.startsWith("[")) return /^\[([^\]]+)\](:\d*)?$/.exec(header)?.[1];
  return /^([^:]+)(:\d*)?$/.exec(header)?.[1];
}

/** Whether a browser sent the request from a page of another origin than the ops server's own. */
function crossSite(origin: string | undefined, host: string | undefined, fetchSite: string | string[] | undefined): boolean {
  if (fetchSite === "cross-site" || fetchSite === "same-site") return true;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== host;
  } catch {
    // "null" (a sandboxed page, a file) or garbage: no page of the ops server.
    return true;
  }
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}
