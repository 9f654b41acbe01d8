import type { RelabelStage } from "@pyroscope-relay/profile";
import { alloyComponentId, componentId, describeComponent, describeReceiver, inInstance } from "./component-id.js";
import type { ComponentReference } from "./component-reference.js";
import { diagnosticAt, type Diagnostic } from "./diagnostic.js";
import type { RelabelComponent } from "./relabel-schema.js";
import type { IgnoredComponent } from "./relay-config.js";
import type { Located } from "./targets.js";

/** A pyroscope.relabel component, validated; `instance` is Alloy's ID of the custom component instance it runs in, if any. */
export type LocatedRelabel = Located<RelabelComponent> & { instance?: string };

/** What a `forward_to` element names: a write's receiver (by label) or a relabel's (by its label, as LocatedRelabel has it). */
type Receiver = { kind: "write"; label: string } | { kind: "relabel"; label: string };

/** A way from a forward_to element to a write: the labels of the relabel components it passes, in order. */
interface Route {
  write: string;
  relabels: readonly string[];
}

/** The first way found to a write, and from where, to name it when another way differs. */
interface FirstRoute {
  relabels: readonly string[];
  receiver: string;
}

const wanted = "expected pyroscope.write.<label>.receiver or pyroscope.relabel.<label>.receiver";

/** The receiver a reference names, or undefined when it names none. */
function receiverOf({ path, module }: ComponentReference): Receiver | undefined {
  const [namespace, kind, label, exported, ...rest] = path;
  if (namespace !== "pyroscope" || label === undefined || exported !== "receiver" || rest.length > 0) return undefined;
  if (kind === "write") return { kind, label };
  // In a custom component's body a name means that instance's component, as in Alloy.
  if (kind === "relabel") return { kind, label: module === undefined ? label : componentId(module, "pyroscope.relabel", label) };
  return undefined;
}

/** Why a `forward_to` element names no receiver, naming the component it does name when the relay ignores it. */
function notAReceiver(reference: ComponentReference, ignored: readonly IgnoredComponent[]): string {
  const { path } = reference;
  const named = ignored.find(({ name, label }) => [...name.split("."), label].every((part, index) => part !== undefined && part === path[index]));
  const reason = named
    ? `the relay does not run ${named.name} ${JSON.stringify(named.label)}, only pyroscope.receive_http, pyroscope.relabel and pyroscope.write`
    : wanted;
  return `${reference} is not a pyroscope.write or pyroscope.relabel receiver; ${reason}`;
}

function describeRoute(relabels: readonly string[]): string {
  return relabels.length === 0 ? "directly" : `through ${relabels.map((label) => describeComponent("pyroscope.relabel", label)).join(", then ")}`;
}

/**
 * Where profiles go from a receiver: its `forward_to` elements, followed through pyroscope.relabel
 * components to the pyroscope.write components they reach. The relay stores a profile once and
 * delivers it once per target, applying on delivery the rules of the relabel components on its
 * way, so every way from the receivers to one write must apply the same rules (through relabels
 * with the same rules: two instances of one custom component, say); Alloy, which sends a profile
 * along every way, would send it once per way. Problems (a relabel's element
 * that names nothing it can forward to, a cycle of relabels, two ways that differ) are appended to
 * `diagnostics`.
 */
export class Forwarding {
  private readonly relabels: ReadonlyMap<string, LocatedRelabel>;
  /** Each relabel's valid elements: a cycle's closing element is left out, once reported. */
  private readonly next = new Map<string, Receiver[]>();
  private readonly firstRoutes = new Map<string, FirstRoute>();
  /** The relabels some receiver's way passes. */
  private readonly passed = new Set<string>();
  /** No relabel's forward_to had a problem: a way that ends nowhere ends there by design. */
  readonly sound: boolean;

  constructor(
    relabels: readonly LocatedRelabel[],
    private readonly writes: ReadonlySet<string>,
    private readonly ignored: readonly IgnoredComponent[],
    private readonly diagnostics: Diagnostic[],
  ) {
    const before = diagnostics.length;
    this.relabels = new Map(relabels.map((relabel) => [relabel.label, relabel]));
    for (const relabel of relabels) {
      const elements: Receiver[] = [];
      relabel.value.forward_to.forEach((reference, item) => {
        const receiver = this.resolve(reference, (message) => this.reportAt(relabel, item, message));
        if (receiver !== undefined) elements.push(receiver);
      });
      this.next.set(relabel.label, elements);
    }
    for (const relabel of relabels) this.breakCycles(relabel.label, []);
    this.sound = diagnostics.length === before;
  }

  /** The writes a receiver's `forward_to` element reaches, once each; a problem goes to `report`. */
  follow(receiver: string, reference: ComponentReference, report: (message: string) => void): string[] {
    const start = this.resolve(reference, report);
    if (start === undefined) return [];
    const writes = new Set<string>();
    for (const { write, relabels } of this.routes(start, [])) {
      writes.add(write);
      for (const relabel of relabels) this.passed.add(relabel);
      const first = this.firstRoutes.get(write);
      if (first === undefined) {
        this.firstRoutes.set(write, { relabels, receiver });
      } else if (this.rulesOf(first.relabels) !== this.rulesOf(relabels)) {
        const from = first.receiver === receiver ? "from this receiver too" : `from ${describeReceiver(first.receiver)}`;
        report(
          `pyroscope.write ${JSON.stringify(write)} is reached ${describeRoute(relabels)} here and ${describeRoute(first.relabels)} ${from}: ` +
            "the relay stores a profile once and delivers it to each target once, so every way to a pyroscope.write must apply the same pyroscope.relabel rules",
        );
      }
    }
    return [...writes];
  }

  /** The relabel components no receiver's way passes: they change nothing the relay delivers. */
  unreached(): LocatedRelabel[] {
    return [...this.relabels.values()].filter(({ label }) => !this.passed.has(label));
  }

  /**
   * The relabel stages on the way to `write`, in order: none when no receiver reaches it through a
   * relabel. Of several ways with the same rules, the first found names them.
   */
  stagesOf(write: string): RelabelStage[] {
    return (this.firstRoutes.get(write)?.relabels ?? []).map((label) => ({
      component: alloyComponentId("pyroscope.relabel", label),
      rules: this.relabels.get(label)!.value.rule,
    }));
  }

  /** The rules of a way, relabel by relabel, as text to compare. */
  private rulesOf(relabels: readonly string[]): string {
    return JSON.stringify(relabels.map((label) => this.relabels.get(label)!.value.rule));
  }

  private resolve(reference: ComponentReference, report: (message: string) => void): Receiver | undefined {
    const receiver = receiverOf(reference);
    if (receiver === undefined) report(notAReceiver(reference, this.ignored));
    else if (receiver.kind === "write" && !this.writes.has(receiver.label)) report(`pyroscope.write ${JSON.stringify(receiver.label)} does not exist`);
    else if (receiver.kind === "relabel" && !this.relabels.has(receiver.label)) report(`pyroscope.relabel ${JSON.stringify(reference.path[2])} does not exist`);
    else return receiver;
    return undefined;
  }

  private routes(receiver: Receiver, relabels: readonly string[]): Route[] {
    if (receiver.kind === "write") return [{ write: receiver.label, relabels }];
    const passed = [...relabels, receiver.label];
    return (this.next.get(receiver.label) ?? []).flatMap((next) => this.routes(next, passed));
  }

  /** Reports and drops each element that leads back to a relabel on the way (`path`), as Alloy refuses a cycle. */
  private breakCycles(label: string, path: readonly string[]): void {
    const elements = this.next.get(label)!;
    const onWay = [...path, label];
    for (const element of [...elements]) {
      if (element.kind !== "relabel") continue;
      const at = onWay.indexOf(element.label);
      if (at < 0) {
        this.breakCycles(element.label, onWay);
        continue;
      }
      elements.splice(elements.indexOf(element), 1);
      const relabel = this.relabels.get(label)!;
      const cycle = [...onWay.slice(at), element.label].map((one) => describeComponent("pyroscope.relabel", one)).join(" -> ");
      const item = relabel.value.forward_to.findIndex((reference) => receiverOf(reference)?.label === element.label);
      this.reportAt(relabel, item, `a cycle: ${cycle}, which Alloy refuses`);
    }
  }

  private reportAt({ instance, file, locations }: LocatedRelabel, item: number, message: string): void {
    const path = ["forward_to", item];
    this.diagnostics.push(inInstance(instance, diagnosticAt(file, locations.nearest(path).pos, `${locations.label(path)}: ${message}`)));
  }
}
