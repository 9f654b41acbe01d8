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
 * along every way, would send it once per way. Problems on the receivers' ways (a relabel's element
 * that names nothing it can forward to, a cycle of relabels, two ways that differ) are appended to
 * `diagnostics`; a relabel no receiver reaches is not checked, as the relay does not run it.
 */
export class Forwarding {
  private readonly relabels: ReadonlyMap<string, LocatedRelabel>;
  private readonly firstRoutes = new Map<string, FirstRoute>();
  /** The relabels some receiver's way passes. */
  private readonly passed = new Set<string>();
  /** The relabels whose forward_to was checked, and whether it had a problem (reported once). */
  private readonly checked = new Map<string, boolean>();

  constructor(
    relabels: readonly LocatedRelabel[],
    private readonly writes: ReadonlySet<string>,
    private readonly ignored: readonly IgnoredComponent[],
    private readonly diagnostics: Diagnostic[],
  ) {
    this.relabels = new Map(relabels.map((relabel) => [relabel.label, relabel]));
  }

  /**
   * The writes a receiver's `forward_to` element reaches, once each, and whether its way had a
   * problem (reported: an element itself to `report`, a relabel's at the relabel).
   */
  follow(receiver: string, reference: ComponentReference, report: (message: string) => void): { writes: string[]; problems: boolean } {
    const start = this.resolve(reference, report);
    if (start === undefined) return { writes: [], problems: true };
    const way = { problems: false };
    const writes = new Set<string>();
    for (const { write, relabels } of this.routes(start, [], way)) {
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
        way.problems = true;
      }
    }
    return { writes: [...writes], problems: way.problems };
  }

  /**
   * The relabel components no receiver's way passes: they change nothing the relay delivers, and
   * their forward_to is not checked (one a pyroscope.scrape uses may forward to a pyroscope.enrich).
   */
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

  /**
   * The ways from `receiver` to writes, after the relabels `path`. An element that names nothing to
   * forward to, or leads back to a relabel on the way (a cycle, which Alloy refuses), is reported at
   * its relabel, once, and not followed.
   */
  private routes(receiver: Receiver, path: readonly string[], way: { problems: boolean }): Route[] {
    if (receiver.kind === "write") return [{ write: receiver.label, relabels: path }];
    const relabel = this.relabels.get(receiver.label)!;
    const onWay = [...path, receiver.label];
    const firstVisit = !this.checked.has(receiver.label);
    let problems = this.checked.get(receiver.label) ?? false;
    const report = (item: number, message: string) => {
      problems = true;
      if (firstVisit) this.reportAt(relabel, item, message);
    };
    const routes = relabel.value.forward_to.flatMap((reference, item) => {
      const next = this.resolve(reference, (message) => report(item, message));
      if (next === undefined) return [];
      const at = next.kind === "relabel" ? onWay.indexOf(next.label) : -1;
      if (at < 0) return this.routes(next, onWay, way);
      const cycle = [...onWay.slice(at), next.label].map((one) => describeComponent("pyroscope.relabel", one)).join(" -> ");
      report(item, `a cycle: ${cycle}, which Alloy refuses`);
      return [];
    });
    this.checked.set(receiver.label, problems);
    way.problems ||= problems;
    return routes;
  }

  private reportAt({ instance, file, locations }: LocatedRelabel, item: number, message: string): void {
    const path = ["forward_to", item];
    this.diagnostics.push(inInstance(instance, diagnosticAt(file, locations.nearest(path).pos, `${locations.label(path)}: ${message}`)));
  }
}
