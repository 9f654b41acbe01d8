import { test } from "node:test";
import assert from "node:assert/strict";
import { ValueLocations } from "./value-locations.js";

function sample(): ValueLocations {
  const at = (line: number, col: number) => ({ line, col });
  const locations = new ValueLocations(at(1, 1));
  locations.set(["forward_to"], { kind: "attribute", pos: at(2, 16), namePos: at(2, 3) });
  locations.set(["forward_to", 0], { kind: "value", pos: at(2, 17), namePos: at(2, 17) });
  locations.set(["endpoint"], { kind: "block", pos: at(3, 3), namePos: at(3, 3) });
  locations.set(["endpoint", 0], { kind: "block", pos: at(3, 3), namePos: at(3, 3) });
  locations.set(["endpoint", 0, "headers"], { kind: "attribute", pos: at(4, 15), namePos: at(4, 5) });
  locations.set(["endpoint", 0, "headers", "X-Org"], { kind: "value", pos: at(4, 27), namePos: at(4, 17) });
  locations.set(["endpoint", 0, "headers", "plain"], { kind: "value", pos: at(4, 40), namePos: at(4, 32) });
  return locations;
}

test("finds a value, or for something missing the closest enclosing place", () => {
  const locations = sample();
  assert.deepEqual(locations.get(["forward_to", 0])?.pos, { line: 2, col: 17 });
  assert.equal(locations.get(["nope"]), undefined);
  assert.deepEqual(locations.nearest(["endpoint", 0, "url"]).pos, { line: 3, col: 3 });
  assert.deepEqual(locations.nearest(["forward_to"]).pos, { line: 2, col: 16 });
  assert.deepEqual(locations.nearest(["missing"]).pos, { line: 1, col: 1 }, "the component itself");
  assert.deepEqual(locations.nearest([]).pos, { line: 1, col: 1 });
});

test("labels values relative to their innermost block", () => {
  const locations = sample();
  assert.equal(locations.label(["forward_to"]), "forward_to");
  assert.equal(locations.label(["forward_to", 0]), "forward_to[0]");
  assert.equal(locations.label(["endpoint", 0, "headers"]), "headers");
  assert.equal(locations.label(["endpoint", 0, "headers", "X-Org"]), 'headers["X-Org"]');
  assert.equal(locations.label(["endpoint", 0, "headers", "plain"]), "headers.plain");
});

test("gives no label to blocks and to what is missing from them", () => {
  const locations = sample();
  assert.equal(locations.label(["endpoint", 0]), "");
  assert.equal(locations.label(["endpoint", 0, "url"]), "");
  assert.equal(locations.label(["endpoint"]), "");
  assert.equal(locations.label([]), "");
});
