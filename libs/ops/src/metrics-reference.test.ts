import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { collectDefaultMetrics, Registry } from "prom-client";
import { RelayMetrics } from "./relay-metrics.js";

const reference = readFileSync(new URL("../../../docs/metrics.md", import.meta.url), "utf8");

/** The metrics of the reference's tables: the first cell of each row, in backquotes. */
function documented(): string[] {
  return [...reference.matchAll(/^\| `([a-z_]+)` \|/gm)].map((match) => match[1]!);
}

function registered(): string[] {
  const defaults = new Registry();
  collectDefaultMetrics({ register: defaults });
  const ignored = new Set(defaults.getMetricsAsArray().map((metric) => metric.name));
  return new RelayMetrics().registry
    .getMetricsAsArray()
    .map((metric) => metric.name)
    .filter((name) => !ignored.has(name));
}

test("docs/metrics.md documents every metric the relay registers, and no other", () => {
  assert.deepEqual(documented().sort(), registered().sort());
});

test("docs/metrics.md gives each metric its registered type and labels", () => {
  const metrics = new RelayMetrics().registry.getMetricsAsArray();
  for (const row of reference.matchAll(/^\| `([a-z_]+)` \| (\w+) \| ([^|]*) \|/gm)) {
    const [, name, type, labels] = row as unknown as [string, string, string, string];
    const metric = metrics.find((m) => m.name === name) as unknown as { type: string; labelNames: string[] } | undefined;
    assert.ok(metric !== undefined, `${name} is not registered`);
    assert.equal(type, metric.type, `${name}'s type`);
    assert.deepEqual(
      labels
        .split(",")
        .map((label) => label.trim())
        .filter((label) => label !== ""),
      metric.labelNames,
      `${name}'s labels`,
    );
  }
});
