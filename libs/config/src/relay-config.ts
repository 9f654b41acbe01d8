/** The typed configuration every process reads; produced from an Alloy-syntax file plus flags/env. */
import type { RelabelStage } from "@pyroscope-relay/profile";

export interface ReceiverConfig {
  /**
   * The `pyroscope.receive_http` component label; for one in a custom component instance, Alloy's ID
   * of it, `profiles_receiver.feature/pyroscope.receive_http.default` (a label has no `/`).
   */
  label: string;
  /** "" means all interfaces, as in Alloy. */
  listenAddress: string;
  listenPort: number;
  connLimit: number;
  readTimeoutMs: number;
  writeTimeoutMs: number;
  idleTimeoutMs: number;
  /** Labels of the `pyroscope.write` components `forward_to` reaches, directly or through pyroscope.relabel components, in order. */
  forwardTo: string[];
  /** Names of every delivery target those write components expand to, in order, without duplicates. */
  targets: string[];
  /** `http > tls`: HTTPS, with HTTP/2 offered by ALPN as Go's server does. */
  tls?: ReceiverTls;
  /** `http > http2`: for h2c, always served beside HTTP/1.1, and for HTTP/2 over TLS. */
  http2: ReceiverHttp2;
  /** `http2 { enabled = false }` was given: h2c is served anyway, as Alloy's receive_http forces it on. */
  http2DisabledIgnored: boolean;
  /** How long closing waits for in-flight requests before it cuts their connections. */
  gracefulShutdownTimeoutMs: number;
  /** The deadline of one debuginfo upload passed through, reading included. */
  debugInfoUploadTimeoutMs: number;
  /** A `grpc` block was given: accepted as Alloy does, but nothing is served on it. */
  grpcBlockIgnored: boolean;
}

/** Go's `tls.ClientAuthType` names, as Alloy takes them. */
export type ClientAuthType = "NoClientCert" | "RequestClientCert" | "RequireAnyClientCert" | "VerifyClientCertIfGiven" | "RequireAndVerifyClientCert";

/** A receiver's server TLS; PEM contents, already read from the configured files. */
export interface ReceiverTls {
  cert: string;
  key: string;
  clientCa?: string;
  clientAuth: ClientAuthType;
  /** OpenSSL cipher list for TLS 1.2 and older; TLS 1.3 suites are not configurable, as in Go. */
  ciphers?: string;
  minVersion?: "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";
}

/** HTTP/2 settings of a receiver, with Go's defaults where Alloy leaves 0. */
export interface ReceiverHttp2 {
  maxConcurrentStreams: number;
  maxReadFrameSize: number;
  maxDecoderHeaderTableSize: number;
  /** Flow-control windows: how much a client may send ahead of what the receiver has read. */
  maxUploadBufferPerStream: number;
  maxUploadBufferPerConnection: number;
  /** A session without any traffic this long is closed. */
  idleTimeoutMs: number;
}

/**
 * How a target's requests authenticate. Secrets hold what was read when the configuration was loaded;
 * a `*File` path says where the writer reads the secret again whenever that file changes.
 */
export type TargetAuth =
  | { kind: "none" }
  | { kind: "basic"; username: string; password: string; passwordFile?: string }
  /** `bearer_token` or `bearer_token_file`. */
  | { kind: "bearer"; token: string; tokenFile?: string }
  /** An `authorization` block: `Authorization: <type> <credentials>`. */
  | { kind: "authorization"; type: string; credentials: string; credentialsFile?: string }
  | TargetOAuth2;

/** An `oauth2` block: the client credentials grant, its token sent as the Authorization header. */
export interface TargetOAuth2 {
  kind: "oauth2";
  clientId: string;
  clientSecret: string;
  clientSecretFile?: string;
  tokenUrl: string;
  scopes: string[];
  endpointParams: Record<string, string>;
  /** How the token endpoint is reached: its own TLS and proxy settings. */
  tls?: TargetTls;
  proxy?: TargetProxy;
}

/** Alloy's names of the TLS versions `min_version` takes. */
export type TlsVersion = "TLS10" | "TLS11" | "TLS12" | "TLS13";

export interface TargetTls {
  /** PEM contents, from the configuration (`*_pem`) or read from the configured files. */
  ca?: string;
  cert?: string;
  key?: string;
  /** The files `ca`, `cert` and `key` were read from; the writer reads them again when they change. */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  insecureSkipVerify: boolean;
  serverName?: string;
  minVersion?: TlsVersion;
}

/**
 * The HTTP proxy requests go through: `proxy_url` (except for the hosts `no_proxy` lists) or the
 * proxy the environment names (HTTP_PROXY, HTTPS_PROXY, NO_PROXY).
 */
export type TargetProxy =
  | { kind: "url"; url: string; noProxy?: string; connectHeaders?: Record<string, string[]> }
  | { kind: "environment"; connectHeaders?: Record<string, string[]> };

/** One `endpoint` block of a `pyroscope.write` component: one queue, one delivery target. */
export interface TargetConfig {
  /** `<write label>` when the component has one endpoint, else `<write label>/<endpoint name or index>`. */
  name: string;
  writeLabel: string;
  endpointName: string;
  url: string;
  remoteTimeoutMs: number;
  /** `debug_info_upload_timeout`: bounds a debuginfo upload passed through to this target; 0 = none. */
  debugInfoUploadTimeoutMs: number;
  headers: Record<string, string>;
  minBackoffMs: number;
  maxBackoffMs: number;
  /** Total attempts; 0 = unbounded. */
  maxBackoffRetries: number;
  retryOnHttp429: boolean;
  auth: TargetAuth;
  tls?: TargetTls;
  /** `http_headers`: secret values, several per name, added after `headers`. */
  httpHeaders?: Record<string, string[]>;
  proxy?: TargetProxy;
  /** Absent: true, as in Alloy. */
  followRedirects?: boolean;
  /** Absent: true, as in Alloy: HTTP/2 when an https target offers it. */
  enableHttp2?: boolean;
  /** The write component's `external_labels`; an empty value deletes the label. */
  externalLabels: Record<string, string>;
  /**
   * The pyroscope.relabel components between the receivers and the write component, in order: their
   * rules apply to a profile's labels before it is sent. Empty when profiles reach it directly.
   */
  relabel: RelabelStage[];
}

/**
 * A block of the configuration that the relay does not run (`logging`, `discovery.kubernetes "pods"`,
 * a `declare "x"` no instance runs, ...), at the top level or in the body of a custom component the
 * relay runs: a whole Alloy configuration loads, and only its pyroscope.receive_http,
 * pyroscope.relabel and pyroscope.write components take effect.
 */
export interface IgnoredComponent {
  /** The block name, e.g. `discovery.kubernetes`. */
  name: string;
  label?: string;
  file: string;
  line: number;
  col: number;
}

/**
 * A `local.file` component: the file its `content` was read from when the configuration was loaded.
 * The running relay watches it and reloads the configuration when the content changes, which is how
 * Alloy's dependants see a new content.
 */
export interface LocalFileConfig {
  /** The component label; in a custom component instance, Alloy's ID of it (`profiles_receiver.feature/local.file.token`). */
  label: string;
  path: string;
  /** `fsnotify`: file system events, checked besides every `pollFrequencyMs`; `poll`: that check alone. */
  detector: "fsnotify" | "poll";
  pollFrequencyMs: number;
  /** SHA-256 of the content loaded: the configuration holds it, so another one is a change. */
  contentDigest: string;
}

/** The Kubernetes objects `remote.kubernetes.*` components read. */
export type KubernetesObjectKind = "secret" | "configmap";

/**
 * How a `remote.kubernetes.*` component reaches the Kubernetes API (its `client` block), as Alloy's
 * `common/kubernetes` ClientArguments: the pod's service account (in-cluster) when neither
 * `api_server` nor `kubeconfig_file` is set.
 */
export type KubernetesClientConfig =
  | { kind: "in-cluster" }
  /** `kubeconfig_file`: its current context's cluster and user. */
  | { kind: "kubeconfig"; path: string }
  /** `api_server` with the block's HTTP client settings (auth, TLS, proxy, headers). */
  | { kind: "api-server"; http: KubernetesHttpClient };

/** The HTTP client settings of a `client` block with `api_server` (its `url`), as a target's. */
export type KubernetesHttpClient = Pick<TargetConfig, "url" | "auth" | "tls" | "httpHeaders" | "proxy" | "followRedirects" | "enableHttp2">;

/** One object a `remote.kubernetes.*` component reads: a GET of the Kubernetes API. */
export interface KubernetesObjectRequest {
  kind: KubernetesObjectKind;
  namespace: string;
  name: string;
  client: KubernetesClientConfig;
  /** `poll_timeout`: how long one read may take. */
  timeoutMs: number;
}

/**
 * A `remote.kubernetes.secret` or `remote.kubernetes.configmap` component the relay's components
 * read: its object as read when the configuration was loaded. The running relay reads it again every
 * `pollFrequencyMs` and reloads the configuration when its data changes.
 */
export interface KubernetesObjectConfig {
  /** `remote.kubernetes.secret.<label>`; in a custom component instance, Alloy's ID of it. */
  id: string;
  request: KubernetesObjectRequest;
  pollFrequencyMs: number;
  /** SHA-256 of the data loaded (see `kubernetesDataDigest`): another one is a change. */
  dataDigest: string;
}

export interface RelayConfig {
  /** None when loaded for a process that serves no receiver (`ConfigUse`): a writer. */
  receivers: ReceiverConfig[];
  targets: TargetConfig[];
  /** The configuration's `local.file` components, in source order. */
  localFiles: LocalFileConfig[];
  /** The `remote.kubernetes.*` components the relay's components read, in source order. */
  kubernetesObjects: KubernetesObjectConfig[];
  /** Every ignored block, file by file in source order. */
  ignored: IgnoredComponent[];
  /** What the relay accepts, as Alloy does, but does not honour: `file:line:col: message`, in source order. */
  warnings: string[];
}
