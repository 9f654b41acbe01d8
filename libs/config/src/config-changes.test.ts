import assert from "node:assert/strict";
import { test } from "node:test";
import { changesBetween } from "./config-changes.js";

const target = (name: string, url: string, headers: Record<string, string> = {}) => ({ name, url, headers });

test("sorts components into added, removed, changed and kept by name, comparing every setting", () => {
  const before = [target("a", "http://a"), target("b", "http://b", { "X-A": "1" }), target("c", "http://c")];
  const after = [target("b", "http://b", { "X-A": "2" }), target("c", "http://c"), target("d", "http://d")];
  assert.deepEqual(
    changesBetween(before, after, (t) => t.name),
    {
      added: [target("d", "http://d")],
      removed: [target("a", "http://a")],
      changed: [target("b", "http://b", { "X-A": "2" })],
      kept: [target("c", "http://c")],
    },
  );
});

test("the same configuration changes nothing; an empty one removes everything", () => {
  const all = [target("a", "http://a"), target("b", "http://b")];
  assert.deepEqual(
    changesBetween(all, structuredClone(all), (t) => t.name),
    { added: [], removed: [], changed: [], kept: all },
  );
  assert.deepEqual(
    changesBetween(all, [], (t) => t.name),
    { added: [], removed: all, changed: [], kept: [] },
  );
});
