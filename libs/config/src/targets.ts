import { diagnosticAt, type Diagnostic, type Position } from "./diagnostic.js";
import type { FileValue, HttpClientFields } from "./http-client-schema.js";
import type { TargetAuth, TargetConfig, TargetOAuth2, TargetProxy, TargetTls } from "./relay-config.js";
import type { ValueLocations, ValuePath } from "./value-locations.js";
import type { WriteComponent } from "./write-schema.js";

/** A validated component with what is needed to report problems that span components. */
export interface Located<T> {
  label: string;
  file: string;
  pos: Position;
  value: T;
  locations: ValueLocations;
}

type TlsBlock = NonNullable<HttpClientFields["tls_config"]>;
type ProxyAttributes = Pick<HttpClientFields, "proxy_url" | "no_proxy" | "proxy_from_environment" | "proxy_connect_header">;

/** Where a secret read from a file came from, under the name the target's config gives it. */
function fromFile<K extends string>(key: K, file: FileValue | undefined): { [P in K]?: string } {
  return file === undefined ? {} : ({ [key]: file.path } as { [P in K]: string });
}

function targetAuth(endpoint: HttpClientFields): TargetAuth {
  const { basic_auth: basic, authorization: auth, oauth2 } = endpoint;
  if (basic) {
    // An empty password (an unset env()) gives way to password_file, as in Alloy.
    const password = basic.password || (basic.password_file?.contents ?? "");
    return { kind: "basic", username: basic.username, password, ...fromFile("passwordFile", basic.password_file) };
  }
  if (auth) {
    const credentials = auth.credentials || (auth.credentials_file?.contents ?? "");
    return { kind: "authorization", type: auth.type, credentials, ...fromFile("credentialsFile", auth.credentials_file) };
  }
  if (oauth2) return targetOAuth2(oauth2);
  const { bearer_token: token, bearer_token_file: tokenFile } = endpoint;
  if (token === undefined && tokenFile === undefined) return { kind: "none" };
  return { kind: "bearer", token: token ?? tokenFile?.contents ?? "", ...fromFile("tokenFile", tokenFile) };
}

function targetOAuth2(oauth2: NonNullable<HttpClientFields["oauth2"]>): TargetOAuth2 {
  const tls = oauth2.tls_config && targetTls(oauth2.tls_config);
  const proxy = targetProxy(oauth2);
  return {
    kind: "oauth2",
    clientId: oauth2.client_id,
    // An empty client_secret (an unset env()) gives way to client_secret_file, as in Alloy.
    clientSecret: oauth2.client_secret || (oauth2.client_secret_file?.contents ?? ""),
    ...fromFile("clientSecretFile", oauth2.client_secret_file),
    tokenUrl: oauth2.token_url,
    scopes: [...oauth2.scopes],
    endpointParams: { ...oauth2.endpoint_params },
    ...(tls ? { tls } : {}),
    ...(proxy ? { proxy } : {}),
  };
}

function targetTls(tls: TlsBlock): TargetTls {
  const target: TargetTls = { insecureSkipVerify: tls.insecure_skip_verify };
  for (const [part, file] of [
    ["ca", "caFile"],
    ["cert", "certFile"],
    ["key", "keyFile"],
  ] as const) {
    const fromFile = tls[`${part}_file`];
    const pem = tls[`${part}_pem`] ?? fromFile?.contents;
    if (pem !== undefined) target[part] = pem;
    if (fromFile !== undefined) target[file] = fromFile.path;
  }
  if (tls.server_name !== undefined) target.serverName = tls.server_name;
  if (tls.min_version !== undefined) target.minVersion = tls.min_version;
  return target;
}

/** The proxy, when one is configured; an empty `proxy_url` or `no_proxy` is unset, as in Alloy. */
function targetProxy(attributes: ProxyAttributes): TargetProxy | undefined {
  const headers = attributes.proxy_connect_header ?? {};
  const connectHeaders = Object.keys(headers).length === 0 ? {} : { connectHeaders: copyLists(headers) };
  if (attributes.proxy_from_environment) return { kind: "environment", ...connectHeaders };
  if (!attributes.proxy_url) return undefined;
  const noProxy = attributes.no_proxy ? { noProxy: attributes.no_proxy } : {};
  return { kind: "url", url: attributes.proxy_url, ...noProxy, ...connectHeaders };
}

function copyLists(map: Record<string, string[]>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(map).map(([name, values]) => [name, [...values]]));
}

/** The HTTP client settings, those that keep Alloy's defaults absent: a target's, a Kubernetes API client's. */
export function httpClientSettings(
  endpoint: HttpClientFields,
): Pick<TargetConfig, "auth" | "tls" | "httpHeaders" | "proxy" | "followRedirects" | "enableHttp2"> {
  return { auth: targetAuth(endpoint), ...clientSettings(endpoint) };
}

/** The HTTP client settings that differ from Alloy's defaults; absent ones keep them. */
function clientSettings(endpoint: HttpClientFields): Partial<TargetConfig> {
  const tls = endpoint.tls_config && targetTls(endpoint.tls_config);
  const proxy = targetProxy(endpoint);
  const httpHeaders = endpoint.http_headers ?? {};
  return {
    ...(tls ? { tls } : {}),
    ...(Object.keys(httpHeaders).length > 0 ? { httpHeaders: copyLists(httpHeaders) } : {}),
    ...(proxy ? { proxy } : {}),
    ...(endpoint.follow_redirects ? {} : { followRedirects: false }),
    ...(endpoint.enable_http2 ? {} : { enableHttp2: false }),
  };
}

/** A target's name: its pyroscope.write's label, and with several endpoints `<label>/<endpoint name, or index>`. */
export function targetName(label: string, endpoints: number, endpointName: string, index: number): string {
  return endpoints === 1 ? label : `${label}/${endpointName === "" ? index : endpointName}`;
}

/**
 * One delivery target per `endpoint` block. A component with one endpoint names its target after its
 * label; with several, each is `<label>/<endpoint name>`, or `<label>/<index>` when unnamed.
 * Duplicate names are appended to `diagnostics`.
 */
export function buildTargets(writes: readonly Located<WriteComponent>[], diagnostics: Diagnostic[]): TargetConfig[] {
  const targets: TargetConfig[] = [];
  const seen = new Set<string>();
  for (const { label, file, value, locations } of writes) {
    value.endpoint.forEach((endpoint, index) => {
      const name = targetName(label, value.endpoint.length, endpoint.name, index);
      if (seen.has(name)) {
        const location = locations.get(["endpoint", index, "name"]) ?? locations.nearest(["endpoint", index]);
        const message = `duplicate target name ${JSON.stringify(name)}; ` + `give each endpoint of pyroscope.write ${JSON.stringify(label)} a different name`;
        diagnostics.push(diagnosticAt(file, location.pos, message));
        return;
      }
      seen.add(name);
      targets.push({
        name,
        writeLabel: label,
        endpointName: endpoint.name,
        url: endpoint.url,
        remoteTimeoutMs: endpoint.remote_timeout,
        debugInfoUploadTimeoutMs: endpoint.debug_info_upload_timeout,
        headers: { ...endpoint.headers },
        minBackoffMs: endpoint.min_backoff_period,
        maxBackoffMs: endpoint.max_backoff_period,
        maxBackoffRetries: endpoint.max_backoff_retries,
        retryOnHttp429: endpoint.retry_on_http_429,
        ...httpClientSettings(endpoint),
        externalLabels: { ...value.external_labels },
        // Known once the receivers' ways to the write are (Forwarding).
        relabel: [],
      });
    });
  }
  return targets;
}

/**
 * A warning for each secret file that could not be read at load (see `secretFileValue`): Alloy takes
 * such a configuration, and so does the relay, whose writer reads the file again for each request.
 */
export function unreadableSecretFiles(writes: readonly Located<WriteComponent>[]): Diagnostic[] {
  return writes.flatMap(({ label, file, value, locations }) =>
    value.endpoint.flatMap((endpoint, index) => {
      const { basic_auth: basic, authorization: auth, oauth2 } = endpoint;
      const files: [ValuePath, FileValue | undefined][] = [
        [["basic_auth", 0, "password_file"], basic?.password_file],
        [["authorization", 0, "credentials_file"], auth?.credentials_file],
        [["oauth2", 0, "client_secret_file"], oauth2?.client_secret_file],
        [["bearer_token_file"], endpoint.bearer_token_file],
      ];
      return files.flatMap(([path, secret]) => {
        if (secret?.unreadable === undefined) return [];
        const attribute = path[path.length - 1];
        const target = targetName(label, value.endpoint.length, endpoint.name, index);
        const message =
          `${attribute}: cannot read ${JSON.stringify(secret.path)} now: ${secret.unreadable}; ` +
          `target ${JSON.stringify(target)} reads it again for each request, and its requests fail as "secret file" until it can`;
        return [diagnosticAt(file, locations.nearest(["endpoint", index, ...path]).pos, message)];
      });
    }),
  );
}
