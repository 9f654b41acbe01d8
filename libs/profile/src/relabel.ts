import { createHash } from "node:crypto";
import { compileAnchored, expandTemplate, type GoRegexp } from "./go-regexp.js";
import type { LabelSet } from "./label-set.js";

export const relabelActions = [
  "replace",
  "keep",
  "drop",
  "hashmod",
  "labelmap",
  "labeldrop",
  "labelkeep",
  "lowercase",
  "uppercase",
  "keepequal",
  "dropequal",
] as const;
export type RelabelAction = (typeof relabelActions)[number];

/** One `rule` block of a `pyroscope.relabel`, with Alloy's defaults filled in. */
export interface RelabelRule {
  sourceLabels: string[];
  separator: string;
  /** As written, unanchored; it is matched anchored at both ends. */
  regex: string;
  modulus: number;
  targetLabel: string;
  replacement: string;
  action: RelabelAction;
}

/** The rules of one `pyroscope.relabel` on a profile's way to a target: `component` is Alloy's ID of it. */
export interface RelabelStage {
  component: string;
  rules: RelabelRule[];
}

export const defaultRelabelRule: RelabelRule = {
  sourceLabels: [],
  separator: ";",
  regex: "(.*)",
  modulus: 0,
  targetLabel: "",
  replacement: "$1",
  action: "replace",
};

/** Prometheus' legacy label name rule, which Alloy applies to what rules write. */
const legacyLabelName = /^[A-Za-z_][A-Za-z0-9_]*$/;
/**
 * A target label or labelmap replacement made of names and `$` references: Alloy's
 * `^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$`, which RE2 matches in linear time, written so that
 * JavaScript's backtracking does too.
 */
const relabelTarget = /^(?:[a-zA-Z_]|\$(?:\{\w+\}|\w))(?:\w|\$(?:\{\w+\}|\w))*$/;

/**
 * Why Alloy refuses `rule`, as its `Validate` words it, or undefined when it is valid: each action's
 * required and forbidden fields, and a regex Go would not compile.
 */
export function relabelRuleProblem(rule: RelabelRule): string | undefined {
  const { action, targetLabel, replacement } = rule;
  try {
    compileAnchored(rule.regex);
  } catch (error) {
    return `invalid regex ${(error as Error).message}`;
  }
  const writesTarget = ["replace", "hashmod", "lowercase", "uppercase", "keepequal", "dropequal"].includes(action);
  if (action === "hashmod" && rule.modulus === 0) return "relabel configuration for hashmod requires non-zero modulus";
  if (writesTarget && targetLabel === "") return `relabel configuration for ${action} action requires 'target_label' value`;
  const invalidTarget = `${JSON.stringify(targetLabel)} is invalid 'target_label' for ${action} action`;
  if (action === "replace" && !(targetLabel.includes("$") ? relabelTarget : legacyLabelName).test(targetLabel)) return invalidTarget;
  const equality = action === "keepequal" || action === "dropequal";
  if ((action === "lowercase" || action === "uppercase" || equality || action === "hashmod") && !legacyLabelName.test(targetLabel)) return invalidTarget;
  if ((action === "lowercase" || action === "uppercase" || equality) && replacement !== defaultRelabelRule.replacement) {
    return `'replacement' can not be set for ${action} action`;
  }
  if (action === "labelmap" && !relabelTarget.test(replacement)) return `${JSON.stringify(replacement)} is invalid 'replacement' for ${action} action`;
  const d = defaultRelabelRule;
  if (action === "labeldrop" || action === "labelkeep") {
    const others =
      rule.sourceLabels.length > 0 ||
      targetLabel !== d.targetLabel ||
      rule.modulus !== d.modulus ||
      rule.separator !== d.separator ||
      replacement !== d.replacement;
    if (others) return `${action} action requires only 'regex', and no other fields`;
  }
  if (equality && (rule.regex !== d.regex || rule.modulus !== d.modulus || rule.separator !== d.separator || replacement !== d.replacement)) {
    return `${action} action requires only 'source_labels' and 'target_label', and no other fields`;
  }
  return undefined;
}

/** A profile (or a Push series) a relabeling rule dropped: Alloy's ID of the component whose rule it was. */
export interface DroppedProfile {
  droppedBy: string;
}

/** A label set after a chain of relabeling components, or which of them dropped it. */
export type Relabeling = (labels: LabelSet) => { labels: LabelSet } | DroppedProfile;

interface CompiledRule extends RelabelRule {
  pattern: GoRegexp;
  modulusBig: bigint;
}

/**
 * The labels' way through `stages`, one `pyroscope.relabel` after another, as Prometheus' relabeling
 * runs each rule: a stage leaves an empty label set as it is, as Alloy's component forwards one
 * untouched. Rules must be valid (relabelRuleProblem).
 */
export function compileRelabeling(stages: readonly RelabelStage[]): Relabeling | undefined {
  if (stages.length === 0) return undefined;
  const compiled = stages.map(({ component, rules }) => ({
    component,
    rules: rules.map((rule): CompiledRule => ({ ...rule, pattern: compileAnchored(rule.regex), modulusBig: BigInt(rule.modulus) })),
  }));
  return (input) => {
    let labels: LabelSet = new Map(input);
    for (const { component, rules } of compiled) {
      if (labels.size === 0) continue;
      const builder = new LabelBuilder(labels);
      for (const rule of rules) {
        if (!applyRule(rule, builder)) return { droppedBy: component };
      }
      labels = builder.labels();
    }
    return { labels };
  };
}

/**
 * Prometheus' `labels.Builder`, as a relabel component runs its rules on one: the labels it started
 * with sorted by name, then those set since in the order first set. `labelmap` sees them in that
 * order, which decides which of two labels mapped to one name wins.
 */
class LabelBuilder {
  private readonly base: [string, string][];
  private readonly added = new Map<string, string>();
  private readonly deleted = new Set<string>();

  constructor(labels: LabelSet) {
    this.base = [...labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  get(name: string): string {
    const added = this.added.get(name);
    if (added !== undefined) return added;
    if (this.deleted.has(name)) return "";
    return this.base.find(([one]) => one === name)?.[1] ?? "";
  }

  /** An empty value deletes the label, as Prometheus' Builder.Set does. */
  set(name: string, value: string): void {
    if (value === "") this.delete(name);
    else this.added.set(name, value);
  }

  delete(name: string): void {
    this.added.delete(name);
    this.deleted.add(name);
  }

  /** The labels as they are now, in Builder.Range's order. */
  entries(): [string, string][] {
    const kept = this.base.filter(([name]) => !this.deleted.has(name) && !this.added.has(name));
    return [...kept, ...this.added];
  }

  labels(): LabelSet {
    return new Map(this.entries());
  }
}

/** Go's simple case mapping, rune by rune: a rune whose full mapping is more than one rune stays. */
function mapRunes(text: string, map: (rune: string) => string): string {
  let out = "";
  for (const rune of text) {
    const mapped = map(rune);
    out += [...mapped].length === 1 ? mapped : rune;
  }
  return out;
}
// İ's full lower case is i and a combining dot; its simple one, Go's, is i.
const lower = (rune: string) => (rune === "\u0130" ? "i" : rune.toLowerCase());
const upper = (rune: string) => rune.toUpperCase();

/** Prometheus' `doRelabel` over a builder it changes: false when the profile is dropped. */
function applyRule(rule: CompiledRule, labels: LabelBuilder): boolean {
  const { pattern } = rule;
  const value = rule.sourceLabels.map((name) => labels.get(name)).join(rule.separator);
  switch (rule.action) {
    case "drop":
      return !pattern.test(value);
    case "keep":
      return pattern.test(value);
    case "dropequal":
      return labels.get(rule.targetLabel) !== value;
    case "keepequal":
      return labels.get(rule.targetLabel) === value;
    case "replace": {
      const match = pattern.exec(value);
      if (match === null) return true;
      const target = expandTemplate(rule.targetLabel, match);
      if (!legacyLabelName.test(target)) return true;
      labels.set(target, expandTemplate(rule.replacement, match));
      return true;
    }
    case "lowercase":
      labels.set(rule.targetLabel, mapRunes(value, lower));
      return true;
    case "uppercase":
      labels.set(rule.targetLabel, mapRunes(value, upper));
      return true;
    case "hashmod": {
      // As Prometheus: the last 8 bytes of the MD5, big-endian, modulo.
      const digest = createHash("md5").update(value, "utf8").digest();
      labels.set(rule.targetLabel, (digest.readBigUInt64BE(8) % rule.modulusBig).toString());
      return true;
    }
    case "labelmap":
      // Over the labels as they were before the rule, as Prometheus' builder ranges over them.
      for (const [name, labelValue] of labels.entries()) {
        const match = pattern.exec(name);
        if (match !== null) labels.set(expandTemplate(rule.replacement, match), labelValue);
      }
      return true;
    case "labeldrop":
    case "labelkeep":
      for (const [name] of labels.entries()) {
        if (pattern.test(name) === (rule.action === "labeldrop")) labels.delete(name);
      }
      return true;
  }
}
