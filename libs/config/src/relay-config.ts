/** The typed configuration every process reads; produced from an Alloy-syntax file plus flags/env. */

export interface ReceiverConfig {
  /** The `pyroscope.receive_http` component label. */
  label: string;
  /** "" means all interfaces, as in Alloy. */
  listenAddress: string;
  listenPort: number;
  connLimit: number;
  readTimeoutMs: number;
  writeTimeoutMs: number;
  idleTimeoutMs: number;
  /** Labels of the `pyroscope.write` components in `forward_to`, in order. */
  forwardTo: string[];
  /** Names of every delivery target those write components expand to, in order, without duplicates. */
  targets: string[];
}

export type TargetAuth =
  | { kind: "none" }
  | { kind: "basic"; username: string; password: string }
  | { kind: "bearer"; token: string };

export interface TargetTls {
  /** PEM contents, already read from the configured files. */
  ca?: string;
  cert?: string;
  key?: string;
  insecureSkipVerify: boolean;
  serverName?: string;
}

/** One `endpoint` block of a `pyroscope.write` component: one queue, one delivery target. */
export interface TargetConfig {
  /** `<write label>` when the component has one endpoint, else `<write label>/<endpoint name or index>`. */
  name: string;
  writeLabel: string;
  endpointName: string;
  url: string;
  remoteTimeoutMs: number;
  headers: Record<string, string>;
  minBackoffMs: number;
  maxBackoffMs: number;
  /** Total attempts; 0 = unbounded. */
  maxBackoffRetries: number;
  retryOnHttp429: boolean;
  auth: TargetAuth;
  tls?: TargetTls;
  /** The write component's `external_labels`; an empty value deletes the label. */
  externalLabels: Record<string, string>;
}

export interface RelayConfig {
  receivers: ReceiverConfig[];
  targets: TargetConfig[];
}
