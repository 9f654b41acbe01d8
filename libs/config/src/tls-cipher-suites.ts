/**
 * Alloy takes `cipher_suites` as Go names (comma-separated); Node's TLS takes OpenSSL names. These
 * are the TLS 1.0-1.2 suites Go knows that OpenSSL 3 can still offer. Go's RC4 suites are gone
 * from OpenSSL 3, so they have no entry and are refused like unknown names.
 */
const openSslNames: Readonly<Record<string, string>> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: "ECDHE-ECDSA-AES128-GCM-SHA256",
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: "ECDHE-ECDSA-AES256-GCM-SHA384",
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: "ECDHE-RSA-AES128-GCM-SHA256",
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: "ECDHE-RSA-AES256-GCM-SHA384",
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-ECDSA-CHACHA20-POLY1305",
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-RSA-CHACHA20-POLY1305",
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: "ECDHE-ECDSA-AES128-SHA",
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: "ECDHE-ECDSA-AES256-SHA",
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: "ECDHE-RSA-AES128-SHA",
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: "ECDHE-RSA-AES256-SHA",
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: "ECDHE-ECDSA-AES128-SHA256",
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: "ECDHE-RSA-AES128-SHA256",
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: "ECDHE-RSA-DES-CBC3-SHA",
  TLS_RSA_WITH_AES_128_GCM_SHA256: "AES128-GCM-SHA256",
  TLS_RSA_WITH_AES_256_GCM_SHA384: "AES256-GCM-SHA384",
  TLS_RSA_WITH_AES_128_CBC_SHA: "AES128-SHA",
  TLS_RSA_WITH_AES_256_CBC_SHA: "AES256-SHA",
  TLS_RSA_WITH_AES_128_CBC_SHA256: "AES128-SHA256",
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: "DES-CBC3-SHA",
};

/** Go accepts these names but never lets them restrict TLS 1.3, which always offers all three. */
const tls13Suites = new Set(["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]);

export class UnknownCipherSuiteError extends Error {
  override readonly name = "UnknownCipherSuiteError";
}

/**
 * The OpenSSL cipher list for Alloy's `cipher_suites`, or undefined when only TLS 1.3 suites are
 * named (nothing to restrict). Throws UnknownCipherSuiteError naming the first unknown suite.
 */
export function openSslCipherList(goNames: string): string | undefined {
  const names = goNames
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name !== "");
  const ciphers: string[] = [];
  for (const name of names) {
    if (tls13Suites.has(name)) continue;
    const cipher = openSslNames[name];
    if (cipher === undefined) {
      throw new UnknownCipherSuiteError(`cipher suite ${JSON.stringify(name)} not recognized; use Go's names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`);
    }
    ciphers.push(cipher);
  }
  return ciphers.length === 0 ? undefined : ciphers.join(":");
}
