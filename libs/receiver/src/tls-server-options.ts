import type { TLSSocket, TlsOptions } from "node:tls";
import type { ReceiverTls } from "@pyroscope-relay/config";

/**
 * Node's server TLS options for `http > tls`. ALPN offers HTTP/2 before HTTP/1.1 whether or not
 * `http2` is enabled: Go's server does so on every TLS listener, so Alloy's does too.
 * RequireAndVerifyClientCert fails the handshake itself; the policies Node cannot express as
 * options are checked after it by `clientCertificateProblem`.
 */
export function tlsServerOptions(tls: ReceiverTls, handshakeTimeoutMs: number): TlsOptions {
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.clientCa === undefined ? {} : { ca: tls.clientCa }),
    requestCert: tls.clientAuth !== "NoClientCert",
    rejectUnauthorized: tls.clientAuth === "RequireAndVerifyClientCert",
    ...(tls.minVersion === undefined ? {} : { minVersion: tls.minVersion }),
    ...(tls.ciphers === undefined ? {} : { ciphers: tls.ciphers }),
    ALPNProtocols: ["h2", "http/1.1"],
    handshakeTimeout: handshakeTimeoutMs,
  };
}

/** Why a connection must be refused under `clientAuth` once its handshake is done; undefined: it may go on. */
export function clientCertificateProblem(socket: TLSSocket, clientAuth: ReceiverTls["clientAuth"]): string | undefined {
  const presented = Object.keys(socket.getPeerCertificate()).length > 0;
  switch (clientAuth) {
    case "RequireAnyClientCert":
      return presented ? undefined : "the client presented no certificate";
    case "VerifyClientCertIfGiven":
      return !presented || socket.authorized ? undefined : `the client certificate is not trusted (${String(socket.authorizationError)})`;
    default:
      return undefined;
  }
}
