import type { TargetConfig } from "@pyroscope-relay/config";

/**
 * A target as the configuration would give it, for the specs: retries take tens of milliseconds
 * (backoff 20 to 50 ms, 10 attempts), no auth, no headers; `url` goes nowhere unless given.
 * Override what a test needs.
 */
export function targetConfig(name: string, overrides: Partial<TargetConfig> = {}): TargetConfig {
  return {
    name,
    writeLabel: name.split("/")[0] ?? name,
    endpointName: name,
    url: "http://127.0.0.1:1",
    remoteTimeoutMs: 10_000,
    debugInfoUploadTimeoutMs: 120_000,
    headers: {},
    minBackoffMs: 20,
    maxBackoffMs: 50,
    maxBackoffRetries: 10,
    retryOnHttp429: true,
    auth: { kind: "none" },
    externalLabels: {},
    relabel: [],
    ...overrides,
  };
}
