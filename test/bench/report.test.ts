import assert from "node:assert/strict";
import { describe, it, mock } from "node:test";
import { meets, printSummary, type SummaryRow } from "./report.js";

/** The summary's lines, as printed. */
function summaryOf(rows: SummaryRow[]): string[] {
  const log = mock.method(console, "log", () => {});
  try {
    printSummary(rows);
    return log.mock.calls.map((call) => String(call.arguments[0]));
  } finally {
    log.mock.restore();
  }
}

function lineOf(lines: string[], figure: string): string {
  const found = lines.find((line) => line.includes(figure));
  assert.ok(found, `no line for ${figure} in:\n${lines.join("\n")}`);
  return found;
}

describe("the bench's summary", () => {
  it("marks each figure with a bar ok or MISSED", () => {
    const lines = summaryOf([
      { figure: "ratio met", value: 0.3, unit: "", bar: { op: ">=", limit: 0.25 } },
      { figure: "ratio missed", value: 0.2, unit: "", bar: { op: ">=", limit: 0.25 } },
      { figure: "cost met", value: 60, unit: "µs", bar: { op: "<=", limit: 60 } },
      { figure: "cost missed", value: 61, unit: "µs", bar: { op: "<=", limit: 60 } },
    ]);
    assert.match(lineOf(lines, "ratio met"), />= 0\.25\s+ok$/);
    assert.match(lineOf(lines, "ratio missed"), />= 0\.25\s+MISSED$/);
    assert.match(lineOf(lines, "cost met"), /<= 60\s+ok$/);
    assert.match(lineOf(lines, "cost missed"), /<= 60\s+MISSED$/);
  });

  it("says when a baseline misses, by itself, the bar it bounds", () => {
    const lines = summaryOf([
      { figure: "floor above", value: 76.6, unit: "µs", bounds: { op: "<=", limit: 60 } },
      { figure: "floor below", value: 44.5, unit: "µs", bounds: { op: "<=", limit: 60 } },
      { figure: "durable below", value: 0.2, unit: "", bounds: { op: ">=", limit: 0.25 } },
    ]);
    assert.match(lineOf(lines, "floor above"), /\(<= 60\)\s+beyond the bar by itself$/);
    assert.match(lineOf(lines, "floor below"), /\(<= 60\)$/);
    assert.match(lineOf(lines, "durable below"), /\(>= 0\.25\)\s+beyond the bar by itself$/);
  });

  it("shows, beside each figure of a phase, what the host stole during that phase", () => {
    const lines = summaryOf([
      { figure: "tail missed", value: 55.2, unit: "ms", bar: { op: "<=", limit: 25 }, stolen: 0.0945 },
      { figure: "tail met", value: 14.6, unit: "ms", bar: { op: "<=", limit: 25 }, stolen: 0.029 },
      { figure: "steal unknown", value: 1, unit: "", stolen: Number.NaN },
      { figure: "a baseline", value: 12259, unit: "/s" },
    ]);
    assert.match(lineOf(lines, "figure"), /bar\s+host steal, pauses$/);
    assert.match(lineOf(lines, "tail missed"), /<= 25\s+MISSED\s+9\.4%$/);
    assert.match(lineOf(lines, "tail met"), /<= 25\s+ok\s+2\.9%$/);
    assert.doesNotMatch(lineOf(lines, "steal unknown"), /%/);
    assert.doesNotMatch(lineOf(lines, "a baseline"), /%/);
  });

  it("notes beside each figure of a phase a pause of the machine of a second or more", () => {
    const lines = summaryOf([
      { figure: "paused phase", value: 94.2, unit: "µs", bar: { op: "<=", limit: 60 }, stolen: 0, pausedMs: 4_612 },
      { figure: "short stall", value: 63.6, unit: "µs", bar: { op: "<=", limit: 60 }, stolen: 0, pausedMs: 999 },
      { figure: "pause, steal unknown", value: 1, unit: "", stolen: Number.NaN, pausedMs: 1_000 },
    ]);
    assert.match(lineOf(lines, "paused phase"), /MISSED\s+0\.0%, paused 4\.6 s$/);
    assert.match(lineOf(lines, "short stall"), /MISSED\s+0\.0%$/);
    assert.match(lineOf(lines, "pause, steal unknown"), /\s{2}paused 1\.0 s$/);
  });

  it("counts a baseline as no bar missed, and NaN as a bar missed", () => {
    assert.equal(meets({ figure: "floor", value: 99, unit: "µs", bounds: { op: "<=", limit: 60 } }), true);
    assert.equal(meets({ figure: "delivered", value: Number.NaN, unit: "", bar: { op: ">=", limit: 0.1 } }), false);
    assert.equal(meets({ figure: "cost", value: Number.NaN, unit: "µs", bar: { op: "<=", limit: 60 } }), false);
  });
});
