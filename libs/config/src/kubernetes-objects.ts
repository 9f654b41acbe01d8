import type { Block } from "./ast.js";
import { type ComponentExports, ExportError } from "./component-exports.js";
import { componentId } from "./component-id.js";
import { decodeBody } from "./decode-body.js";
import type { Diagnostic } from "./diagnostic.js";
import type { KubernetesObjectSource } from "./kubernetes-reads.js";
import { LazyEvaluation } from "./lazy-evaluation.js";
import type { LocalFilesInstance } from "./local-files.js";
import { kubernetesDataDigest } from "./kubernetes-reads.js";
import type { KubernetesClientConfig, KubernetesObjectConfig, KubernetesObjectKind, KubernetesObjectRequest } from "./relay-config.js";
import { remoteKubernetesSchema, type RemoteKubernetesArguments } from "./remote-kubernetes-schema.js";
import type { FileReader } from "./schema-values.js";
import type { Scope } from "./scope.js";
import { Secret } from "./secret.js";
import { httpClientSettings } from "./targets.js";
import { validateComponent } from "./validate-component.js";
import { ValueLocations } from "./value-locations.js";
import { describeValueType } from "./value-type.js";

/** A `remote.kubernetes.secret` or `remote.kubernetes.configmap` block, by its kind and label. */
export interface KubernetesObjectBlock {
  kind: KubernetesObjectKind;
  label: string;
  file: string;
  block: Block;
}

type ObjectState =
  | { kind: "failed"; reason: string }
  /** Not read yet: `KubernetesReads` has it listed, and the configuration is evaluated again once it is read. */
  | { kind: "unread" }
  | { kind: "loaded"; data: Record<string, unknown>; config?: Omit<KubernetesObjectConfig, "id"> };

const kindName = (kind: KubernetesObjectKind) => `remote.kubernetes.${kind}`;

/**
 * The `remote.kubernetes.secret` and `remote.kubernetes.configmap` components of a configuration (or
 * of a custom component instance's body), which the relay evaluates as Alloy does: each reads its
 * Secret or ConfigMap from the Kubernetes API and exports its `data`, a Secret's values as secrets
 * (`convert.nonsensitive` turns one into a string), a ConfigMap's as strings. A component is
 * evaluated when a reference first reads it, and one nothing of the relay's reads is left alone (its
 * object may exist only where Alloy runs). Reads come from `source`, made before the evaluation.
 */
export class KubernetesObjects implements ComponentExports {
  private readonly states = new LazyEvaluation<ObjectState>((key) => `remote.kubernetes.${key}`);
  private readonly schema: ReturnType<typeof remoteKubernetesSchema>;

  constructor(
    /** By `<kind>.<label>`, e.g. `secret.credentials`. */
    private readonly blocks: ReadonlyMap<string, KubernetesObjectBlock>,
    /** The scope references outside these components go to. */
    private readonly scope: Scope,
    /** What a component's own arguments see: every component evaluated here (local.file too); known once they are. */
    private readonly argumentScope: () => Scope,
    readFile: FileReader,
    private readonly source: KubernetesObjectSource,
    private readonly diagnostics: Diagnostic[],
    private readonly instance?: LocalFilesInstance,
  ) {
    this.schema = remoteKubernetesSchema(readFile);
  }

  read(path: readonly string[]): { value: unknown } | undefined {
    const [namespace, group, kind, label, name, key, ...fields] = path;
    if (namespace !== "remote" || group !== "kubernetes" || (kind !== "secret" && kind !== "configmap") || label === undefined) {
      return this.scope.exports?.read(path);
    }
    const id = `${kindName(kind)}.${label}`;
    const blockKey = `${kind}.${label}`;
    if (!this.blocks.has(blockKey)) {
      const block = `${kindName(kind)} ${JSON.stringify(label)} block`;
      const missing =
        this.instance === undefined
          ? `the configuration has no ${block}`
          : `declare ${JSON.stringify(this.instance.declare)} has no ${block} in its body, and its components see nothing else`;
      throw new ExportError(`${id} is not defined: ${missing}`);
    }
    const state = this.states.get(blockKey, () => this.load(this.blocks.get(blockKey)!));
    if (state.kind === "failed") throw new ExportError(`${id} cannot be read: ${state.reason}`);
    if (state.kind === "unread") throw new ExportError(`${id} has not been read from the Kubernetes API yet`);
    if (name === undefined) return { value: Object.assign(Object.create(null), { data: state.data }) };
    if (name !== "data") throw new ExportError(`${id} has no export ${JSON.stringify(name)}: ${kindName(kind)} exports data`);
    if (key === undefined) return { value: state.data };
    if (!Object.hasOwn(state.data, key)) throw new ExportError(`${id}.data has no key ${JSON.stringify(key)}`);
    const value = state.data[key];
    if (fields.length > 0) throw new ExportError(`cannot read field ${JSON.stringify(fields[0])} of a ${describeValueType(value)}`);
    return { value };
  }

  /** The objects read so far, as the running relay polls them: in source order, one in an instance by its component ID. */
  configs(): KubernetesObjectConfig[] {
    return [...this.blocks].flatMap(([key, { kind, label }]) => {
      const config = this.states.valueOf(key);
      if (config?.kind !== "loaded" || config.config === undefined) return [];
      const id = this.instance === undefined ? `${kindName(kind)}.${label}` : componentId(this.instance.id, kindName(kind), label);
      return [{ id, ...config.config }];
    });
  }

  /** The components nothing has read so far. */
  unread(): KubernetesObjectBlock[] {
    return [...this.blocks].filter(([key]) => !this.states.read(key)).map(([, block]) => block);
  }

  private load({ kind, file, block }: KubernetesObjectBlock): ObjectState {
    const locations = new ValueLocations(block.pos);
    const before = this.diagnostics.length;
    const failed: ObjectState = { kind: "failed", reason: "the component has errors (reported at it)" };
    if (this.source.standIn) return { kind: "loaded", data: everyKey(kind === "secret" ? new Secret("") : "") };
    const data = decodeBody(block.body, [], { file, scope: this.argumentScope(), locations }, this.diagnostics);
    if (this.diagnostics.length > before) return failed;
    const result = validateComponent(this.schema, data, locations, file);
    if (!result.ok) {
      this.diagnostics.push(...result.diagnostics);
      return failed;
    }
    const request = requestOf(kind, result.value);
    const read = this.source.lookup(request);
    if (read === undefined) return { kind: "unread" };
    if ("error" in read) return { kind: "failed", reason: read.error };
    const values = Object.fromEntries(Object.entries(read.data).map(([key, value]) => [key, kind === "secret" ? new Secret(value) : value]));
    return {
      kind: "loaded",
      data: Object.assign(Object.create(null), values),
      config: { request, pollFrequencyMs: result.value.poll_frequency, dataDigest: kubernetesDataDigest(read.data) },
    };
  }
}

function requestOf(kind: KubernetesObjectKind, args: RemoteKubernetesArguments): KubernetesObjectRequest {
  return { kind, namespace: args.namespace, name: args.name, client: clientOf(args.client), timeoutMs: args.poll_timeout };
}

function clientOf(block: RemoteKubernetesArguments["client"]): KubernetesClientConfig {
  if (block?.kubeconfig_file !== undefined) return { kind: "kubeconfig", path: block.kubeconfig_file };
  if (block?.api_server === undefined) return { kind: "in-cluster" };
  return { kind: "api-server", http: { url: block.api_server, ...httpClientSettings(block) } };
}

/** An object whose every key reads as `value`: the stand-in data of an object nothing read. */
function everyKey(value: unknown): Record<string, unknown> {
  const descriptor = { value, enumerable: true, configurable: true, writable: false };
  return new Proxy(Object.create(null) as Record<string, unknown>, {
    get: (_target, key) => (typeof key === "string" ? value : undefined),
    has: (_target, key) => typeof key === "string",
    getOwnPropertyDescriptor: (_target, key) => (typeof key === "string" ? descriptor : undefined),
  });
}
