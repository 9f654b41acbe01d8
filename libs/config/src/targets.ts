import { diagnosticAt, type Diagnostic, type Position } from "./diagnostic.js";
import type { TargetAuth, TargetConfig, TargetTls } from "./relay-config.js";
import type { ValueLocations } from "./value-locations.js";
import type { WriteComponent } from "./write-schema.js";

/** A validated component with what is needed to report problems that span components. */
export interface Located<T> {
  label: string;
  pos: Position;
  value: T;
  locations: ValueLocations;
}

type Endpoint = WriteComponent["endpoint"][number];

function targetAuth(endpoint: Endpoint): TargetAuth {
  const { basic_auth: basic, bearer_token: token, bearer_token_file: tokenFromFile } = endpoint;
  if (basic) return { kind: "basic", username: basic.username, password: basic.password ?? basic.password_file ?? "" };
  const bearer = token ?? tokenFromFile;
  return bearer === undefined ? { kind: "none" } : { kind: "bearer", token: bearer };
}

function targetTls(endpoint: Endpoint): TargetTls | undefined {
  const tls = endpoint.tls_config;
  if (!tls) return undefined;
  return {
    insecureSkipVerify: tls.insecure_skip_verify,
    ...(tls.ca_file === undefined ? {} : { ca: tls.ca_file }),
    ...(tls.cert_file === undefined ? {} : { cert: tls.cert_file }),
    ...(tls.key_file === undefined ? {} : { key: tls.key_file }),
    ...(tls.server_name === undefined ? {} : { serverName: tls.server_name }),
  };
}

/**
 * One delivery target per `endpoint` block. A component with one endpoint names its target after its
 * label; with several, each is `<label>/<endpoint name>`, or `<label>/<index>` when unnamed.
 * Duplicate names are appended to `diagnostics`.
 */
export function buildTargets(
  writes: readonly Located<WriteComponent>[],
  file: string,
  diagnostics: Diagnostic[],
): TargetConfig[] {
  const targets: TargetConfig[] = [];
  const seen = new Set<string>();
  for (const { label, value, locations } of writes) {
    value.endpoint.forEach((endpoint, index) => {
      const name =
        value.endpoint.length === 1 ? label : `${label}/${endpoint.name === "" ? index : endpoint.name}`;
      if (seen.has(name)) {
        const location = locations.get(["endpoint", index, "name"]) ?? locations.nearest(["endpoint", index]);
        const message =
          `duplicate target name ${JSON.stringify(name)}; ` +
          `give each endpoint of pyroscope.write ${JSON.stringify(label)} a different name`;
        diagnostics.push(diagnosticAt(file, location.pos, message));
        return;
      }
      seen.add(name);
      const tls = targetTls(endpoint);
      targets.push({
        name,
        writeLabel: label,
        endpointName: endpoint.name,
        url: endpoint.url,
        remoteTimeoutMs: endpoint.remote_timeout,
        headers: { ...endpoint.headers },
        minBackoffMs: endpoint.min_backoff_period,
        maxBackoffMs: endpoint.max_backoff_period,
        maxBackoffRetries: endpoint.max_backoff_retries,
        retryOnHttp429: endpoint.retry_on_http_429,
        auth: targetAuth(endpoint),
        ...(tls ? { tls } : {}),
        externalLabels: { ...value.external_labels },
      });
    });
  }
  return targets;
}
