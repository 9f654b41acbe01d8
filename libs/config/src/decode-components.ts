import type { AlloyFile, Block } from "./ast.js";
import { componentId, inInstance, validLabel } from "./component-id.js";
import { type ComponentKind, componentKinds, isComponentKind } from "./component-kinds.js";
import {
  bodyExports,
  bodyOf,
  type Declare,
  type Definitions,
  definitionsOf,
  noDefinitions,
  type PlacedStatement,
  relayBlocksInForeach,
  runsRelayComponents,
} from "./custom-components.js";
import { decodeBody } from "./decode-body.js";
import { describeLocation, diagnosticAt, type Diagnostic, type Position } from "./diagnostic.js";
import { InstanceArguments, type Instance } from "./instance-arguments.js";
import { type KubernetesObjectBlock, KubernetesObjects } from "./kubernetes-objects.js";
import type { KubernetesObjectSource } from "./kubernetes-reads.js";
import { type LocalFileBlock, LocalFiles } from "./local-files.js";
import type { IgnoredComponent, KubernetesObjectConfig, KubernetesObjectKind, LocalFileConfig } from "./relay-config.js";
import type { FileReader } from "./schema-values.js";
import type { Scope } from "./scope.js";
import { ValueLocations } from "./value-locations.js";

/** A parsed configuration file; a configuration may be a directory of them. */
export interface ParsedFile {
  file: string;
  alloyFile: AlloyFile;
}

/** A component block of the relay's, decoded but not yet checked against its schema. */
export interface DecodedComponent {
  kind: ComponentKind;
  /** The block's label; in a custom component instance, Alloy's ID of the component, `profiles_receiver.feature/pyroscope.receive_http.default`. */
  label: string;
  /** Alloy's ID of the custom component instance it runs in (`profiles_receiver.feature`); absent at the top level. */
  instance?: string;
  file: string;
  pos: Position;
  data: Record<string, unknown>;
  locations: ValueLocations;
}

/** What a configuration's modules (its top level and the bodies of the custom component instances it runs) decode to. */
export interface DecodedComponents {
  components: DecodedComponent[];
  ignored: IgnoredComponent[];
  localFiles: LocalFileConfig[];
  kubernetesObjects: KubernetesObjectConfig[];
  /** Whether a pyroscope.receive_http block runs, whatever its problems. */
  runsReceiver: boolean;
}

/**
 * Alloy's pyroscope components the relay does not run: ignored like any other component. Any other
 * `pyroscope.` name is refused, as Alloy refuses it: a misspelt `pyroscope.recieve_http` would
 * otherwise be ignored, and nothing would listen where the file says.
 */
const otherPyroscopeComponents = new Set(["pyroscope.ebpf", "pyroscope.enrich", "pyroscope.java", "pyroscope.scrape"]);

/** The components the relay evaluates besides its own, for the exports they read. */
const localFile = "local.file";
const kubernetesObjectKinds = new Map<string, KubernetesObjectKind>([
  ["remote.kubernetes.secret", "secret"],
  ["remote.kubernetes.configmap", "configmap"],
]);

/** A custom component instance being expanded: its body is a module of its own. */
interface ModuleInstance extends Instance {
  /** Alloy's ID of it, `profiles_receiver.feature`, after that of the instance it is in. */
  id: string;
  declare: Declare;
}

/** The top level, or the body of a custom component instance. */
interface Module {
  instance?: ModuleInstance;
  /** The custom components and import namespaces where the body is defined. */
  definitions: Definitions;
  /** The declares being expanded, outermost first: an instance of one inside it is a cycle. */
  enclosing: ReadonlySet<Declare>;
}

/** What every module of a configuration shares. */
interface Run {
  /** The standard library's view of this machine: what every expression sees. */
  scope: Scope;
  readFile: FileReader;
  /** The Kubernetes objects read for the evaluation. */
  kubernetes: KubernetesObjectSource;
  diagnostics: Diagnostic[];
  decoded: DecodedComponents;
  /** The declares an instance was expanded for: the others are ignored. */
  expanded: Set<Block>;
}

/**
 * Sorts the files' top-level blocks into the relay's components, decoded, the local.file and
 * remote.kubernetes.* components they read, evaluated (their files read through `readFile`, their
 * objects found in `kubernetes`), and every other block, ignored without evaluating anything in it
 * (its expressions may read components the relay does not run), the local.file and
 * remote.kubernetes.* components nothing of the relay reads included. A custom component (`declare`) whose
 * body holds a pyroscope.receive_http runs as in Alloy: once for each instance, the components of its
 * body decoded as the top level's are, seeing the instance's arguments. As in Alloy, a block name and
 * label identify one block across all files. Components with problems are left out of the result
 * and their problems appended to `diagnostics`.
 */
export function decodeComponents(
  files: readonly ParsedFile[],
  scope: Scope,
  diagnostics: Diagnostic[],
  readFile: FileReader,
  kubernetes: KubernetesObjectSource,
): DecodedComponents {
  const decoded: DecodedComponents = { components: [], ignored: [], localFiles: [], kubernetesObjects: [], runsReceiver: false };
  const statements = files.flatMap(({ file, alloyFile }) => alloyFile.body.map((statement) => ({ file, statement })));
  decodeModule(statements, { definitions: noDefinitions, enclosing: new Set() }, { scope, readFile, kubernetes, diagnostics, decoded, expanded: new Set() });
  decoded.ignored = inSourceOrder(files, decoded.ignored);
  return decoded;
}

/**
 * Ignored components in the order of the files and of the blocks in them, as without the components
 * left out; a declare's body, which every instance shares, listed once.
 */
export function inSourceOrder(files: readonly ParsedFile[], ignored: readonly IgnoredComponent[]): IgnoredComponent[] {
  const fileOrder = new Map(files.map(({ file }, i) => [file, i]));
  const place = ({ file, line, col }: IgnoredComponent) => `${file}:${line}:${col}`;
  const once = [...new Map(ignored.map((component) => [place(component), component])).values()];
  return once.sort((a, b) => fileOrder.get(a.file)! - fileOrder.get(b.file)! || a.line - b.line || a.col - b.col);
}

/** Decodes a module's relay components, then expands the custom component instances in it, each a module of its own. */
function decodeModule(statements: readonly PlacedStatement[], module: Module, run: Run): void {
  const { instance, enclosing } = module;
  // An instance's problems are named after it when they are all found.
  const diagnostics: Diagnostic[] = instance === undefined ? run.diagnostics : [];
  const definitions = definitionsOf(statements, module.definitions);
  const ignored: IgnoredComponent[] = [];
  // The relay's components and the instances that run some, in source order.
  const runs: Array<{ file: string; block: Block } & ({ kind: ComponentKind; label: string } | { kind: "instance"; declare: Declare })> = [];
  const localFileBlocks = new Map<string, LocalFileBlock>();
  const kubernetesBlocks = new Map<string, KubernetesObjectBlock>();
  const argumentBlocks = new Map<string, Block>();
  const declares: { file: string; block: Block; label?: string }[] = [];
  const firstById = new Map<string, { file: string; pos: Position }>();

  for (const { file, statement } of statements) {
    const report = (pos: Position, message: string) => diagnostics.push(diagnosticAt(file, pos, message));
    const isDuplicate = (id: string, pos: Position, what: string): boolean => {
      const first = firstById.get(id);
      if (first) report(pos, `duplicate ${what} ${id}; first defined at ${describeLocation(first.file, first.pos, file)}`);
      else firstById.set(id, { file, pos });
      return first !== undefined;
    };
    const { name, pos } = statement;
    if (statement.kind === "attribute") {
      report(pos, `unexpected attribute ${JSON.stringify(name)} outside a component block`);
      continue;
    }
    const { label } = statement;
    const id = label === undefined ? name : `${name} ${JSON.stringify(label)}`;
    const what = label === undefined ? "block" : "component";
    const declare = definitions.declares.get(name);
    const inForeach = name === "foreach" ? relayBlocksInForeach(statement, file, definitions, enclosing) : [];
    if (label !== undefined && !validLabel.test(label)) {
      const rule = "use letters, digits and underscores, not starting with a digit";
      report(pos, `invalid label ${JSON.stringify(label)}: ${rule}`);
    } else if (name.startsWith("pyroscope.") && !otherPyroscopeComponents.has(name) && !isComponentKind(name) && !definitions.imported.has("pyroscope")) {
      report(pos, `unknown component ${name}: Alloy's pyroscope components are ${[...otherPyroscopeComponents, ...componentKinds].sort().join(", ")}`);
    } else if (declare !== undefined && runsRelayComponents(declare, enclosing)) {
      if (!isDuplicate(id, pos, what)) runs.push({ kind: "instance", file, block: statement, declare });
    } else if (declare !== undefined && enclosing.has(declare)) {
      report(pos, `${id} instantiates declare ${JSON.stringify(name)} inside its own body: a cycle, which Alloy refuses`);
    } else if (inForeach.length > 0) {
      for (const inner of inForeach) {
        const innerId = inner.label === undefined ? inner.name : `${inner.name} ${JSON.stringify(inner.label)}`;
        report(inner.pos, `${innerId} inside ${id} is not run by the relay: Alloy would run one for each item of the collection; define it outside foreach`);
      }
    } else if (instance !== undefined && name === "pyroscope.write") {
      const message = `pyroscope.write inside declare ${JSON.stringify(instance.declare.label)} is not run by the relay: define it at the top level and pass its receiver in an argument`;
      report(pos, message);
    } else if (!isComponentKind(name) && name !== localFile && !kubernetesObjectKinds.has(name) && !(instance !== undefined && name === "argument")) {
      if (isDuplicate(id, pos, what)) continue;
      if (name === "declare") declares.push({ file, block: statement, ...(label === undefined ? {} : { label }) });
      else ignored.push({ name, ...(label === undefined ? {} : { label }), file, line: pos.line, col: pos.col });
    } else if (label === undefined) {
      report(pos, `${name} needs a label, e.g. ${name} "default" { ... }`);
    } else if (!isDuplicate(id, pos, what)) {
      if (isComponentKind(name)) runs.push({ kind: name, label, file, block: statement });
      else if (name === localFile) localFileBlocks.set(label, { file, block: statement });
      else if (kubernetesObjectKinds.has(name)) {
        const kind = kubernetesObjectKinds.get(name)!;
        kubernetesBlocks.set(`${kind}.${label}`, { kind, label, file, block: statement });
      } else argumentBlocks.set(label, statement);
    }
  }

  // An instance's body sees its arguments and its own components; the top level, every component.
  let scope = run.scope;
  let args: InstanceArguments | undefined;
  if (instance !== undefined) {
    args = new InstanceArguments(instance, instance.declare, argumentBlocks, () => componentScope, diagnostics);
    scope = { ...scope, exports: bodyExports(instance.declare, statements, args), module: instance.id };
  }
  // Decoded once every local.file and remote.kubernetes.* is known: a component may read one defined
  // after it, or in another file, and each of them may read the others.
  const named = instance && { id: instance.id, declare: instance.declare.label };
  const kubernetesObjects = new KubernetesObjects(kubernetesBlocks, scope, () => componentScope, run.readFile, run.kubernetes, diagnostics, named);
  const localFiles = new LocalFiles(localFileBlocks, { ...scope, exports: kubernetesObjects }, run.readFile, diagnostics, named);
  const componentScope: Scope = { ...scope, exports: localFiles };
  args?.check();
  run.decoded.runsReceiver ||= runs.some(({ kind }) => kind === "pyroscope.receive_http");
  for (const component of runs) {
    const { file, block } = component;
    if (component.kind === "instance") {
      const { declare } = component;
      run.expanded.add(declare.block);
      const id = componentId(instance?.id, block.name, block.label);
      decodeModule(
        bodyOf(declare),
        { instance: { id, declare, file, block, scope: componentScope }, definitions: declare.definitions, enclosing: new Set([...enclosing, declare]) },
        run,
      );
      continue;
    }
    const { kind, label } = component;
    const locations = new ValueLocations(block.pos);
    const before = diagnostics.length;
    const data = decodeBody(block.body, [], { file, scope: componentScope, locations }, diagnostics);
    if (diagnostics.length > before) continue;
    const decoded = { kind, label: instance === undefined ? label : componentId(instance.id, kind, label), file, pos: block.pos, data, locations };
    run.decoded.components.push(instance === undefined ? decoded : { ...decoded, instance: instance.id });
  }

  for (const [label, { file, block }] of localFiles.unread()) ignored.push({ name: localFile, label, file, line: block.pos.line, col: block.pos.col });
  for (const { label, file, block } of kubernetesObjects.unread()) ignored.push({ name: block.name, label, file, line: block.pos.line, col: block.pos.col });
  // A declare no instance runs runs nothing, as in Alloy.
  for (const { file, block, label } of declares) {
    if (!run.expanded.has(block)) ignored.push({ name: "declare", ...(label === undefined ? {} : { label }), file, line: block.pos.line, col: block.pos.col });
  }
  run.decoded.ignored.push(...ignored);
  run.decoded.localFiles.push(...localFiles.configs());
  run.decoded.kubernetesObjects.push(...kubernetesObjects.configs());
  if (instance !== undefined) run.diagnostics.push(...diagnostics.map((diagnostic) => inInstance(instance.id, diagnostic)));
}
