import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileRelabeling, defaultRelabelRule, type RelabelRule, relabelRuleProblem, type RelabelStage } from "./relabel.js";

const rule = (fields: Partial<RelabelRule>): RelabelRule => ({ ...defaultRelabelRule, ...fields });
const stage = (...rules: Partial<RelabelRule>[]): RelabelStage => ({ component: "pyroscope.relabel.default", rules: rules.map(rule) });

/** The labels after `stages`, as a plain object, or the component that dropped them. */
function relabel(labels: Record<string, string>, ...stages: RelabelStage[]): Record<string, string> | string {
  const relabeling = compileRelabeling(stages);
  assert.ok(relabeling);
  const result = relabeling(new Map(Object.entries(labels)));
  return "droppedBy" in result ? result.droppedBy : Object.fromEntries([...result.labels].sort(([a], [b]) => (a < b ? -1 : 1)));
}

describe("compileRelabeling", () => {
  it("hashes as Prometheus does: the MD5's last 8 bytes, modulo", () => {
    assert.deepEqual(relabel({ c: "baz" }, stage({ sourceLabels: ["c"], targetLabel: "d", action: "hashmod", modulus: 1000 })), { c: "baz", d: "976" });
    assert.deepEqual(relabel({ a: "foo\nbar" }, stage({ sourceLabels: ["a"], targetLabel: "b", action: "hashmod", modulus: 1000 })), {
      a: "foo\nbar",
      b: "734",
    });
  });

  it("samples by hash as the k8s-monitoring chart's processing rules do", () => {
    const sampling = stage(
      { sourceLabels: ["env"], targetLabel: "__tmp_hash", action: "hashmod", modulus: 2 },
      { sourceLabels: ["__tmp_hash"], action: "drop", regex: "^1$" },
    );
    const kept = ["a", "b", "c", "d", "e", "f", "g", "h"].filter((env) => typeof relabel({ service_name: "app", env }, sampling) !== "string");
    assert.ok(kept.length > 0 && kept.length < 8, `some environments kept, some dropped: ${kept}`);
    assert.deepEqual(
      kept.map((env) => relabel({ service_name: "app", env }, sampling)),
      kept.map((env) => ({ service_name: "app", env, __tmp_hash: "0" })),
    );
  });

  it("replaces: the default rule copies, no match changes nothing, an empty result deletes", () => {
    assert.deepEqual(relabel({ a: "foo" }, stage({ sourceLabels: ["a"], targetLabel: "b" })), { a: "foo", b: "foo" });
    assert.deepEqual(relabel({ a: "foo" }, stage({ sourceLabels: ["a"], targetLabel: "b", regex: "bar" })), { a: "foo" });
    assert.deepEqual(relabel({ a: "foo", b: "x" }, stage({ sourceLabels: ["nope"], targetLabel: "b" })), { a: "foo" });
    const joined = stage({ sourceLabels: ["a", "b"], separator: "/", regex: "(.*)/(.*)", targetLabel: "t_$2", replacement: "$1-$2" });
    assert.deepEqual(relabel({ a: "x", b: "y" }, joined), { a: "x", b: "y", t_y: "x-y" });
    assert.deepEqual(relabel({ a: "x", b: "1-" }, joined), { a: "x", b: "1-" }, "a target that is no valid label name is skipped");
  });

  it("keeps and drops by regex and by equality", () => {
    const keep = stage({ sourceLabels: ["env"], regex: "prod|staging", action: "keep" });
    assert.deepEqual(relabel({ env: "prod" }, keep), { env: "prod" });
    assert.equal(relabel({ env: "dev" }, keep), "pyroscope.relabel.default");
    assert.equal(relabel({ env: "production" }, keep), "pyroscope.relabel.default", "anchored: a prefix is no match");
    assert.equal(relabel({ env: "dev" }, stage({ sourceLabels: ["env"], regex: "dev", action: "drop" })), "pyroscope.relabel.default");
    assert.deepEqual(relabel({ a: "1", b: "1" }, stage({ sourceLabels: ["a"], targetLabel: "b", action: "keepequal" })), { a: "1", b: "1" });
    assert.equal(relabel({ a: "1", b: "2" }, stage({ sourceLabels: ["a"], targetLabel: "b", action: "keepequal" })), "pyroscope.relabel.default");
    assert.equal(relabel({ a: "1", b: "1" }, stage({ sourceLabels: ["a"], targetLabel: "b", action: "dropequal" })), "pyroscope.relabel.default");
  });

  it("maps, drops and keeps label names; changes case", () => {
    assert.deepEqual(relabel({ __meta_pod: "p", __meta_ns: "n", x: "1" }, stage({ regex: "__meta_(.+)", action: "labelmap" })), {
      __meta_ns: "n",
      __meta_pod: "p",
      ns: "n",
      pod: "p",
      x: "1",
    });
    assert.deepEqual(relabel({ __tmp_a: "1", keep: "2" }, stage({ regex: "__tmp.*", action: "labeldrop" })), { keep: "2" });
    assert.deepEqual(relabel({ a: "1", b: "2", c: "3" }, stage({ regex: "a|b", action: "labelkeep" })), { a: "1", b: "2" });
    assert.deepEqual(relabel({ a: "MiXed" }, stage({ sourceLabels: ["a"], targetLabel: "lo", action: "lowercase" })), { a: "MiXed", lo: "mixed" });
    assert.deepEqual(relabel({ a: "MiXed" }, stage({ sourceLabels: ["a"], targetLabel: "up", action: "uppercase" })), { a: "MiXed", up: "MIXED" });
  });

  it("maps labels in Prometheus' order: sorted, then those set since; a later one mapped to the same name wins", () => {
    // Inserted b_x first: Prometheus ranges over a_x, then b_x, so b_x's value wins.
    assert.deepEqual(relabel({ b_x: "2", a_x: "1" }, stage({ regex: "[ab]_(.*)", action: "labelmap" })), { a_x: "1", b_x: "2", x: "2" });
    // A label set by an earlier rule comes after the sorted ones.
    const setFirst = stage({ sourceLabels: ["z"], targetLabel: "a_y" }, { regex: "[a-z]_(.*)", action: "labelmap" });
    assert.deepEqual(relabel({ b_y: "from b", z: "from z" }, setFirst), { a_y: "from z", b_y: "from b", y: "from z", z: "from z" });
  });

  it("changes case rune by rune, as Go's simple mapping does", () => {
    const lower = stage({ sourceLabels: ["a"], targetLabel: "lo", action: "lowercase" });
    const upper = stage({ sourceLabels: ["a"], targetLabel: "up", action: "uppercase" });
    assert.equal((relabel({ a: "ΟΔΟΣ" }, lower) as Record<string, string>)["lo"], "οδοσ", "no final sigma");
    assert.equal((relabel({ a: "İx" }, lower) as Record<string, string>)["lo"], "ix");
    assert.equal((relabel({ a: "straße" }, upper) as Record<string, string>)["up"], "STRAßE", "ß has no single-rune capital in the simple mapping");
  });

  it("runs stages in turn, names the one that dropped, and leaves an empty set to the next stage untouched", () => {
    const first: RelabelStage = { component: "pyroscope.relabel.first", rules: [rule({ regex: ".*", action: "labeldrop" })] };
    const second: RelabelStage = { component: "pyroscope.relabel.second", rules: [rule({ sourceLabels: ["x"], regex: "", action: "drop" })] };
    assert.deepEqual(relabel({ a: "1" }, first, second), {}, "the second stage's drop (which matches an empty value) does not run");
    assert.equal(relabel({ a: "1" }, second), "pyroscope.relabel.second");
    const rename: RelabelStage = { component: "pyroscope.relabel.rename", rules: [rule({ sourceLabels: ["a"], targetLabel: "x" })] };
    assert.deepEqual(
      relabel({ a: "1" }, rename, { ...second, rules: [rule({ sourceLabels: ["x"], regex: "1", action: "drop" })] }),
      "pyroscope.relabel.second",
    );
    assert.equal(compileRelabeling([]), undefined, "no stage: nothing to run");
  });
});

describe("relabelRuleProblem", () => {
  it("accepts valid rules", () => {
    assert.equal(relabelRuleProblem(rule({ sourceLabels: ["a"], targetLabel: "b" })), undefined);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Go template, expanded as Go does.
    assert.equal(relabelRuleProblem(rule({ targetLabel: "${1}_x" })), undefined);
    assert.equal(relabelRuleProblem(rule({ regex: "__tmp.*", action: "labeldrop" })), undefined);
    assert.equal(relabelRuleProblem(rule({ sourceLabels: ["a"], targetLabel: "b", action: "keepequal" })), undefined);
  });

  it("checks a long invalid target label at once", () => {
    const problem = relabelRuleProblem(rule({ targetLabel: `${"a".repeat(5_000)}$1-x` }));
    assert.match(problem ?? "", /is invalid 'target_label' for replace action/);
  });

  it("refuses what Alloy refuses, in its words", () => {
    const cases: [Partial<RelabelRule>, string][] = [
      [{ action: "hashmod", targetLabel: "h" }, "relabel configuration for hashmod requires non-zero modulus"],
      [{ action: "replace" }, "relabel configuration for replace action requires 'target_label' value"],
      [{ action: "replace", targetLabel: "1abc" }, `"1abc" is invalid 'target_label' for replace action`],
      [{ action: "lowercase", targetLabel: "a", replacement: "x" }, "'replacement' can not be set for lowercase action"],
      [{ action: "labelmap", replacement: "-" }, `"-" is invalid 'replacement' for labelmap action`],
      [{ action: "labeldrop", sourceLabels: ["a"] }, "labeldrop action requires only 'regex', and no other fields"],
      [{ action: "dropequal", targetLabel: "a", regex: "x" }, "dropequal action requires only 'source_labels' and 'target_label', and no other fields"],
      [{ regex: "(" }, `invalid regex "("`],
    ];
    for (const [fields, message] of cases) {
      const problem = relabelRuleProblem(rule(fields));
      assert.ok(problem?.startsWith(message), `${JSON.stringify(fields)}: ${problem}`);
    }
  });
});
