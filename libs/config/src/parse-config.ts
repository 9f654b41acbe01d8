import { inInstance } from "./component-id.js";
import { ConfigError } from "./config-error.js";
import { compareDiagnostics, diagnosticAt, formatDiagnostic, type Diagnostic } from "./diagnostic.js";
import { decodeComponents, inSourceOrder, type ParsedFile } from "./decode-components.js";
import type { Environment } from "./evaluate.js";
import { type KubernetesObjectSource, standInObjects } from "./kubernetes-reads.js";
import { parseAlloy } from "./parser.js";
import { receiveHttpSchema } from "./receive-http-schema.js";
import { buildReceivers, type LocatedReceiver } from "./receivers.js";
import { Forwarding, type LocatedRelabel } from "./forwarding.js";
import { relabelSchema } from "./relabel-schema.js";
import type { IgnoredComponent, RelayConfig } from "./relay-config.js";
import { alloyString, type FileReader } from "./schema-values.js";
import { systemConstants } from "./system-constants.js";
import { buildTargets, targetName, unreadableSecretFiles, type Located } from "./targets.js";
import { validateComponent } from "./validate-component.js";
import { writeSchema, type WriteComponent } from "./write-schema.js";

/** One file of a configuration and its text. */
export interface ConfigSource {
  file: string;
  source: string;
}

/** What a process takes of its configuration. */
export interface ConfigUse {
  /**
   * false for a process that serves no receiver (a writer), whose configuration then lists none. Their
   * components are checked as for one that does, but for their tls blocks: no file these name is read
   * and no certificate loaded, so that the process runs where the receivers' certificates are not.
   */
  servesReceivers: boolean;
}

const servingEverything: ConfigUse = { servesReceivers: true };

const noFileReader: FileReader = () => {
  throw new Error("files cannot be read here; load the configuration with loadConfig");
};

const noKubernetesObjects: KubernetesObjectSource = {
  lookup: () => ({ error: "Kubernetes objects cannot be read here; load the configuration with loadConfig" }),
};

/**
 * Parses and validates an Alloy-syntax configuration. Pure but for `constants.*`, which describe this
 * machine: `env` answers `sys.env("X")`, and `readFile` reads the files `*_file` attributes and
 * local.file components name.
 * Throws a ConfigError listing every problem found.
 */
export function parseConfig(
  source: string,
  file: string,
  env: Environment = {},
  readFile: FileReader = noFileReader,
  use: ConfigUse = servingEverything,
  kubernetes: KubernetesObjectSource = noKubernetesObjects,
): RelayConfig {
  return parseConfigFiles(file, [{ file, source }], env, readFile, use, kubernetes);
}

/**
 * Parses the files of one configuration (`path` names it as a whole, e.g. a directory) as Alloy does:
 * as one, so that a component in one file may refer to one in another.
 */
export function parseConfigFiles(
  path: string,
  sources: readonly ConfigSource[],
  env: Environment,
  readFile: FileReader,
  { servesReceivers }: ConfigUse = servingEverything,
  kubernetes: KubernetesObjectSource = noKubernetesObjects,
): RelayConfig {
  const diagnostics: Diagnostic[] = [];
  const files = parseFiles(sources, diagnostics);
  if (diagnostics.length > 0) throw new ConfigError(diagnostics);
  const scope = { env, constants: systemConstants() };
  const { components, ignored, localFiles, kubernetesObjects, runsReceiver } = decodeComponents(files, scope, diagnostics, readFile, kubernetes);

  const write = writeSchema(readFile);
  const receiveHttp = receiveHttpSchema(readFile, { loadCertificates: servesReceivers });
  const receives: LocatedReceiver[] = [];
  const writes: Located<WriteComponent>[] = [];
  const relabels: LocatedRelabel[] = [];
  for (const { kind, data, locations, ...component } of components) {
    if (kind === "pyroscope.write") {
      const result = validateComponent(write, data, locations, component.file);
      if (result.ok) writes.push({ ...component, value: result.value, locations });
      else diagnostics.push(...result.diagnostics);
    } else if (kind === "pyroscope.relabel") {
      const result = validateComponent(relabelSchema, data, locations, component.file);
      if (result.ok) relabels.push({ ...component, value: result.value, locations });
      else diagnostics.push(...result.diagnostics.map((diagnostic) => inInstance(component.instance, diagnostic)));
    } else {
      const result = validateComponent(receiveHttp, data, locations, component.file);
      if (result.ok) receives.push({ ...component, value: result.value, locations });
      else diagnostics.push(...result.diagnostics.map((diagnostic) => inInstance(component.instance, diagnostic)));
    }
  }
  if (!runsReceiver) {
    const message = "no pyroscope.receive_http component: nothing would receive profiles";
    diagnostics.push({ file: path, line: 0, col: 0, message });
  }
  if (diagnostics.length > 0) throw new ConfigError(diagnostics);

  const endpoints = buildTargets(writes, diagnostics);
  const targetsByWrite = new Map(writes.map(({ label }) => [label, endpoints.filter((t) => t.writeLabel === label).map((t) => t.name)]));
  const forwarding = new Forwarding(relabels, new Set(targetsByWrite.keys()), ignored, diagnostics);
  const receivers = buildReceivers(receives, targetsByWrite, forwarding, diagnostics);
  if (diagnostics.length > 0) throw new ConfigError(diagnostics);
  return {
    receivers: servesReceivers ? receivers : [],
    targets: endpoints.map((target) => ({ ...target, relabel: forwarding.stagesOf(target.writeLabel) })),
    localFiles,
    kubernetesObjects,
    // A relabel no receiver's profiles pass (one a pyroscope.scrape forwards to, say) does nothing here.
    ignored: inSourceOrder(files, [...ignored, ...forwarding.unreached().map(ignoredRelabel)]),
    warnings: [...ignoredTracing(writes), ...unreadableSecretFiles(writes)].sort(compareDiagnostics).map(formatDiagnostic),
  };
}

function ignoredRelabel({ label, file, pos }: LocatedRelabel): IgnoredComponent {
  // In a custom component instance the label is Alloy's ID, ending in the block's own label.
  return { name: "pyroscope.relabel", label: label.slice(label.lastIndexOf(".") + 1), file, line: pos.line, col: pos.col };
}

/** A write's `tracing` block that turns a propagator on asks for what the relay never does. */
function ignoredTracing(writes: readonly Located<WriteComponent>[]): Diagnostic[] {
  return writes.flatMap(({ label, file, value, locations }) => {
    const { tracing } = value;
    if (tracing === undefined || !(tracing.jaeger_propagator || tracing.trace_context_propagator)) return [];
    const message = `pyroscope.write ${JSON.stringify(label)}: the tracing block is ignored: the relay sends no trace context (uber-trace-id, traceparent) with its requests`;
    return [diagnosticAt(file, locations.nearest(["tracing", 0]).pos, message)];
  });
}

/**
 * The names of the targets of a configuration, and nothing else: its syntax and expressions are
 * checked, but no file and no Kubernetes object is read (a local.file's content, and each key of a
 * remote.kubernetes.* component's data, reads as empty) and no endpoint setting validated. The operator commands need no more
 * (they work on Redis), and may run where the writers' secrets and certificates are not.
 * @throws ConfigError when the configuration does not parse or evaluate
 */
export function targetNamesOf(sources: readonly ConfigSource[], env: Environment): string[] {
  const diagnostics: Diagnostic[] = [];
  const files = parseFiles(sources, diagnostics);
  if (diagnostics.length > 0) throw new ConfigError(diagnostics);
  const { components } = decodeComponents(files, { env, constants: systemConstants() }, diagnostics, () => "", standInObjects);
  if (diagnostics.length > 0) throw new ConfigError(diagnostics);
  const names = components
    .filter(({ kind }) => kind === "pyroscope.write")
    .flatMap(({ label, data }) => {
      const endpoints = Array.isArray(data["endpoint"]) ? (data["endpoint"] as unknown[]) : [];
      return endpoints.map((endpoint, index) => {
        // As the write schema reads it: a number is its text.
        const name = alloyString.safeParse((endpoint as Record<string, unknown> | null)?.["name"]);
        return targetName(label, endpoints.length, name.success ? name.data : "", index);
      });
    });
  return [...new Set(names)];
}

/** Each source's syntax tree; what does not parse adds to `diagnostics`. */
function parseFiles(sources: readonly ConfigSource[], diagnostics: Diagnostic[]): ParsedFile[] {
  return sources.flatMap(({ file, source }): ParsedFile[] => {
    try {
      return [{ file, alloyFile: parseAlloy(source, file) }];
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      diagnostics.push(...error.diagnostics);
      return [];
    }
  });
}
