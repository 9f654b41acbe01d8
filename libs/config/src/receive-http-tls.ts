import { X509Certificate } from "node:crypto";
import { createSecureContext } from "node:tls";
import { z } from "zod";
import type { ClientAuthType, ReceiverTls } from "./relay-config.js";
import { alloyString, fileContents, secretString, type FileReader } from "./schema-values.js";
import { openSslCipherList, UnknownCipherSuiteError } from "./tls-cipher-suites.js";

/** Alloy's values (those of Go's exporter-toolkit); `RequireClientCert` is its old name for RequireAnyClientCert. */
const clientAuthTypes = {
  NoClientCert: "NoClientCert",
  RequestClientCert: "RequestClientCert",
  RequireAnyClientCert: "RequireAnyClientCert",
  RequireClientCert: "RequireAnyClientCert",
  VerifyClientCertIfGiven: "VerifyClientCertIfGiven",
  RequireAndVerifyClientCert: "RequireAndVerifyClientCert",
} as const satisfies Record<string, ClientAuthType>;

const tlsVersions = {
  VersionTLS10: "TLSv1",
  VersionTLS11: "TLSv1.1",
  VersionTLS12: "TLSv1.2",
  VersionTLS13: "TLSv1.3",
} as const satisfies Record<string, ReceiverTls["minVersion"]>;

function oneOf<K extends string>(values: Record<K, unknown>) {
  const names = Object.keys(values) as [K, ...K[]];
  return z.enum(names, { error: `must be one of ${names.join(", ")}` });
}

/** Go treats an empty string as unset (`len(x) > 0`); so does this block, and null, Go's zero string. */
function optional<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => (value === "" || value === null ? undefined : value), schema.optional());
}

/** Pairs where Alloy takes one or the other: inline PEM or a file. */
const exclusive = [
  ["cert_pem", "cert_file"],
  ["key_pem", "key_file"],
  ["client_ca_pem", "client_ca_file"],
  ["client_ca", "client_ca_file"],
  ["client_ca", "client_ca_pem"],
] as const;

/** How a receiver's `tls` block is taken. */
export interface ReceiverTlsOptions {
  /**
   * false for a process that serves no receiver (a writer): the block is checked as written, but no
   * file it names is read and no certificate loaded, and it yields no settings.
   */
  loadCertificates: boolean;
}

/**
 * The `tls` block of receive_http's `http` block: the server certificate and key (inline PEM or
 * files, read while validating), client certificate policy, minimum version and cipher suites.
 * Everything Node would refuse at start is refused here, with its location: a certificate that
 * does not load or does not match its key, a client CA without a certificate, unknown suites.
 * Messages never quote PEM contents.
 */
export function receiveHttpTlsSchema(readFile: FileReader, { loadCertificates }: ReceiverTlsOptions) {
  // Unloaded, a file attribute is its path.
  const pemFile = loadCertificates ? fileContents(readFile, { trimTrailingNewline: false }) : alloyString;
  return z
    .strictObject({
      cert_pem: optional(alloyString),
      cert_file: optional(pemFile),
      key_pem: optional(secretString),
      key_file: optional(pemFile),
      // Alloy's code reads `client_ca`, its documentation says `client_ca_pem`: both are taken.
      client_ca: optional(alloyString),
      client_ca_pem: optional(alloyString),
      client_ca_file: optional(pemFile),
      client_auth_type: optional(oneOf(clientAuthTypes)),
      cipher_suites: optional(alloyString),
      min_version: optional(oneOf(tlsVersions)),
    })
    .transform((tls, ctx): ReceiverTls | undefined => {
      let valid = true;
      const report = (path: string[], message: string) => {
        ctx.addIssue({ code: "custom", path, message });
        valid = false;
      };
      for (const [a, b] of exclusive) {
        if (tls[a] !== undefined && tls[b] !== undefined) {
          report([b], `set ${a} or ${b}, not both`);
        }
      }
      const cert = tls.cert_pem ?? tls.cert_file;
      const key = tls.key_pem ?? tls.key_file;
      // Alloy serves plain HTTP when either is missing; a tls block that silently does not encrypt is refused instead.
      if (cert === undefined) report([], "a tls block needs cert_pem or cert_file");
      if (key === undefined) report([], "a tls block needs key_pem or key_file");
      const clientAuth = clientAuthTypes[tls.client_auth_type ?? "NoClientCert"];
      const clientCaAttribute = (["client_ca_file", "client_ca_pem", "client_ca"] as const).find((name) => tls[name] !== undefined);
      const clientCa = clientCaAttribute && tls[clientCaAttribute];
      if (clientCaAttribute !== undefined && clientAuth === "NoClientCert") {
        report([clientCaAttribute], "a client CA needs a client_auth_type other than NoClientCert, e.g. RequireAndVerifyClientCert");
      }
      if (loadCertificates && clientCaAttribute !== undefined && clientCa !== undefined && !hasCertificate(clientCa)) {
        report([clientCaAttribute], "no PEM certificate found");
      }
      let ciphers: string | undefined;
      try {
        ciphers = tls.cipher_suites === undefined ? undefined : openSslCipherList(tls.cipher_suites);
      } catch (error) {
        if (!(error instanceof UnknownCipherSuiteError)) throw error;
        report(["cipher_suites"], error.message);
      }
      if (!valid || cert === undefined || key === undefined) return z.NEVER;
      if (!loadCertificates) return undefined;
      const problem = loadProblem(cert, key, ciphers);
      if (problem !== undefined) {
        report([tls.cert_pem === undefined ? "cert_file" : "cert_pem"], problem);
        return z.NEVER;
      }
      return {
        cert,
        key,
        clientAuth,
        ...(clientCa === undefined ? {} : { clientCa }),
        ...(ciphers === undefined ? {} : { ciphers }),
        ...(tls.min_version === undefined ? {} : { minVersion: tlsVersions[tls.min_version] }),
      };
    });
}

function hasCertificate(pem: string): boolean {
  try {
    new X509Certificate(pem);
    return true;
  } catch {
    return false;
  }
}

/** Why Node could not serve with this certificate, key and cipher list; OpenSSL's reasons name no key material. */
function loadProblem(cert: string, key: string, ciphers: string | undefined): string | undefined {
  try {
    createSecureContext({ cert, key, ...(ciphers === undefined ? {} : { ciphers }) });
    return undefined;
  } catch (error) {
    return `the certificate and key cannot be used: ${(error as Error).message}`;
  }
}
