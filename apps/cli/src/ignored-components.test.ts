import assert from "node:assert/strict";
import { test } from "node:test";
import { describeIgnored } from "./ignored-components.js";

test("names an ignored component with its label, if any, and where it is", () => {
  assert.equal(describeIgnored({ name: "discovery.kubernetes", label: "pods", file: "a.alloy", line: 5, col: 1 }), 'discovery.kubernetes "pods" (a.alloy:5:1)');
  assert.equal(describeIgnored({ name: "logging", file: "dir/b.alloy", line: 1, col: 1 }), "logging (dir/b.alloy:1:1)");
});
