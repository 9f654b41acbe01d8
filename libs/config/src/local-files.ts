import type { Block } from "./ast.js";
import { type ComponentExports, ExportError } from "./component-exports.js";
import { componentId } from "./component-id.js";
import { contentDigest } from "./content-digest.js";
import { decodeBody } from "./decode-body.js";
import { diagnosticAt, type Diagnostic } from "./diagnostic.js";
import { LazyEvaluation } from "./lazy-evaluation.js";
import { localFileSchema } from "./local-file-schema.js";
import type { LocalFileConfig } from "./relay-config.js";
import type { FileReader } from "./schema-values.js";
import type { Scope } from "./scope.js";
import { Secret } from "./secret.js";
import { validateComponent } from "./validate-component.js";
import { ValueLocations } from "./value-locations.js";
import { describeValueType } from "./value-type.js";

/** A `local.file` block of the configuration, or of a declare's body, by its label. */
export interface LocalFileBlock {
  file: string;
  block: Block;
}

type LocalFileState = { kind: "failed" } | { kind: "loaded"; content: string | Secret; config: Omit<LocalFileConfig, "label"> };

/** The custom component instance whose body holds the components: Alloy's ID of it, and the declare's label. */
export interface LocalFilesInstance {
  id: string;
  declare: string;
}

/**
 * The `local.file` components of a configuration (or of a custom component instance's body), which
 * the relay evaluates as Alloy does: each reads its file once, when the configuration loads, and
 * exports its `content` (a secret with `is_secret = true`), as it is, not trimmed. A component is
 * evaluated when a reference first reads it, so one local.file's arguments may read another's content
 * (Alloy orders them by dependency); a cycle is an error. One that none of the relay's components reads is left unevaluated, as the
 * components that read it are: its file may well exist only where Alloy runs. Problems go to
 * `diagnostics`, at the component.
 */
export class LocalFiles implements ComponentExports {
  private readonly states = new LazyEvaluation<LocalFileState>((label) => `local.file.${label}`);

  constructor(
    private readonly blocks: ReadonlyMap<string, LocalFileBlock>,
    private readonly scope: Scope,
    private readonly readFile: FileReader,
    private readonly diagnostics: Diagnostic[],
    private readonly instance?: LocalFilesInstance,
  ) {}

  /** A local.file's export; any other reference is the scope's to read. */
  read(path: readonly string[]): { value: unknown } | undefined {
    const [namespace, kind, label, name, field] = path;
    if (namespace !== "local" || kind !== "file" || label === undefined) return this.scope.exports?.read(path);
    const id = `local.file.${label}`;
    if (!this.blocks.has(label)) {
      const block = `local.file ${JSON.stringify(label)} block`;
      const missing =
        this.instance === undefined
          ? `the configuration has no ${block}`
          : `declare ${JSON.stringify(this.instance.declare)} has no ${block} in its body, and its components see nothing else`;
      throw new ExportError(`${id} is not defined: ${missing}`);
    }
    const state = this.states.get(label, () => this.load(label, this.blocks.get(label)!));
    if (state.kind === "failed") throw new ExportError(`${id} cannot be read: the component has errors (reported at it)`);
    if (name === undefined) return { value: Object.assign(Object.create(null), { content: state.content }) };
    if (name !== "content") throw new ExportError(`${id} has no export ${JSON.stringify(name)}: local.file exports content`);
    if (field !== undefined) throw new ExportError(`cannot read field ${JSON.stringify(field)} of a ${describeValueType(state.content)}`);
    return { value: state.content };
  }

  /** The components read so far, as the running relay watches them: in source order, one in an instance by its component ID. */
  configs(): LocalFileConfig[] {
    return [...this.blocks.keys()].flatMap((label) => {
      const state = this.states.valueOf(label);
      return state?.kind === "loaded"
        ? [{ label: this.instance === undefined ? label : componentId(this.instance.id, "local.file", label), ...state.config }]
        : [];
    });
  }

  /** The components nothing has read so far, by label. */
  unread(): [string, LocalFileBlock][] {
    return [...this.blocks].filter(([label]) => !this.states.read(label));
  }

  private load(label: string, { file, block }: LocalFileBlock): LocalFileState {
    const locations = new ValueLocations(block.pos);
    const before = this.diagnostics.length;
    const data = decodeBody(block.body, [], { file, scope: { ...this.scope, exports: this }, locations }, this.diagnostics);
    if (this.diagnostics.length > before) return { kind: "failed" };
    const result = validateComponent(localFileSchema, data, locations, file);
    if (!result.ok) {
      this.diagnostics.push(...result.diagnostics);
      return { kind: "failed" };
    }
    const { filename, detector, poll_frequency, is_secret } = result.value;
    let text: string;
    try {
      text = this.readFile(filename);
    } catch (error) {
      // As Alloy, which fails to load the component: nothing could use its content.
      const message = `local.file ${JSON.stringify(label)}: cannot read ${JSON.stringify(filename)}: ${(error as Error).message}`;
      this.diagnostics.push(diagnosticAt(file, locations.nearest(["filename"]).pos, message));
      return { kind: "failed" };
    }
    return {
      kind: "loaded",
      content: is_secret ? new Secret(text) : text,
      config: { path: filename, detector, pollFrequencyMs: poll_frequency, contentDigest: contentDigest(text) },
    };
  }
}
