/** TLS of a test redis-server: its certificate and key, and the authority its peers' certificates are checked against. */
export interface RedisTlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
  /** Whether clients must present a certificate the authority signed (Redis' `tls-auth-clients`, `yes` by default there); default false. */
  authClients?: boolean;
}

/** redis-server's arguments for TLS on `tlsPort`, on 127.0.0.1 and ::1 (where it exists: `localhost` may resolve to either). */
export function redisTlsArgs(tls: RedisTlsFiles, tlsPort: number): string[] {
  return [
    "--tls-port",
    String(tlsPort),
    "--bind",
    "127.0.0.1 -::1",
    "--tls-cert-file",
    tls.certFile,
    "--tls-key-file",
    tls.keyFile,
    "--tls-ca-cert-file",
    tls.caFile,
    "--tls-auth-clients",
    tls.authClients ? "yes" : "no",
  ];
}
