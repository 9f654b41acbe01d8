import type { ConnectionOptions, SecureVersion } from "node:tls";
import type { TargetTls } from "@pyroscope-relay/config";
import { fixedValue, WatchedFile, type Reloadable } from "./watched-file.js";

const nodeVersions: Record<NonNullable<TargetTls["minVersion"]>, SecureVersion> = {
  TLS10: "TLSv1",
  TLS11: "TLSv1.1",
  TLS12: "TLSv1.2",
  TLS13: "TLSv1.3",
};

/** What a connection needs of a `tls_config`, with its CA, certificate and key as they are now. */
export interface TlsOptions {
  options: ConnectionOptions | undefined;
  /** Tells one set of certificates from another: connections are made anew when it changes. */
  version: string;
}

/**
 * A `tls_config` whose certificate files are read again when they change (a renewed client
 * certificate, a rotated CA), as Alloy does; PEM values from the configuration never change.
 */
export class TlsSettings {
  /** Whether any part comes from a file, so that it is worth checking before each request. */
  readonly fromFiles: boolean;
  private readonly parts: Record<"ca" | "cert" | "key", Reloadable | undefined>;

  constructor(private readonly tls: TargetTls | undefined) {
    const part = (pem: string | undefined, file: string | undefined, attribute: string) =>
      file !== undefined ? new WatchedFile(file, attribute, (contents) => contents) : pem !== undefined ? fixedValue(pem) : undefined;
    this.parts = {
      ca: part(tls?.ca, tls?.caFile, "tls_config ca_file"),
      cert: part(tls?.cert, tls?.certFile, "tls_config cert_file"),
      key: part(tls?.key, tls?.keyFile, "tls_config key_file"),
    };
    this.fromFiles = tls !== undefined && [tls.caFile, tls.certFile, tls.keyFile].some((file) => file !== undefined);
  }

  async current(): Promise<TlsOptions> {
    const tls = this.tls;
    if (tls === undefined) return { options: undefined, version: "" };
    const { ca: caPart, cert: certPart, key: keyPart } = this.parts;
    const [ca, cert, key] = await Promise.all([caPart?.read(), certPart?.read(), keyPart?.read()]);
    const options: ConnectionOptions = {
      rejectUnauthorized: !tls.insecureSkipVerify,
      ...(ca === undefined ? {} : { ca }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
      ...(tls.serverName === undefined ? {} : { servername: tls.serverName }),
      ...(tls.minVersion === undefined ? {} : { minVersion: nodeVersions[tls.minVersion] }),
    };
    return { options, version: JSON.stringify([ca, cert, key]) };
  }
}
