import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidLabelError } from "./errors.js";
import { rewritePushLabels, validatePushLabels, type LabelPair } from "./push-labels.js";

const pairs = (...list: [string, string][]): LabelPair[] => list.map(([name, value]) => ({ name, value }));

describe("rewritePushLabels", () => {
  it("drops reserved labels except __name__ and __delta__, sorted by name", () => {
    assert.deepEqual(
      rewritePushLabels(pairs(["service_name", "api"], ["__name__", "process_cpu"], ["__meta_x", "1"], ["__delta__", "false"], ["env", "prod"]), {}),
      pairs(["__delta__", "false"], ["__name__", "process_cpu"], ["app_name", "process_cpu"], ["env", "prod"], ["service_name", "api"]),
    );
  });

  it("sets service_name from __name__ when missing, as Alloy does", () => {
    assert.deepEqual(rewritePushLabels(pairs(["__name__", "process_cpu"]), {}), pairs(["__name__", "process_cpu"], ["service_name", "process_cpu"]));
  });

  it('adds nothing to a series without __name__ (Alloy\'s {app="app-0"})', () => {
    assert.deepEqual(rewritePushLabels(pairs(["app", "app-0"]), {}), pairs(["app", "app-0"]));
  });

  it("collapses duplicates last-wins and drops empty values", () => {
    assert.deepEqual(
      rewritePushLabels(pairs(["service_name", "a"], ["env", "x"], ["service_name", "b"], ["env", ""], ["bad-name", ""]), {}),
      pairs(["service_name", "b"]),
    );
  });

  it("lets external labels override and delete", () => {
    assert.deepEqual(
      rewritePushLabels(pairs(["service_name", "a"], ["env", "dev"], ["team", "x"]), { env: "prod", team: "", region: "eu" }),
      pairs(["env", "prod"], ["region", "eu"], ["service_name", "a"]),
    );
  });

  it("validates before dropping reserved labels", () => {
    assert.throws(() => rewritePushLabels(pairs(["service_name", "a"], ["__bad-x", "1"]), {}), {
      name: "InvalidLabelError",
      message: "invalid label name: __bad-x: character is not allowed: '-'",
    });
  });

  it("rejects an invalid external label name", () => {
    assert.throws(() => rewritePushLabels(pairs(["service_name", "a"]), { "a b": "1" }), InvalidLabelError);
  });
});

describe("validatePushLabels", () => {
  it("accepts a usual series", () => {
    validatePushLabels(pairs(["__name__", "process_cpu"], ["service_name", "api"], ["__delta__", "false"]));
  });

  it("rejects an empty series, also one that is empty after dropping empty values", () => {
    for (const labels of [[], pairs(["env", ""])]) {
      assert.throws(
        () => validatePushLabels(labels),
        (err: unknown) => {
          assert.ok(err instanceof InvalidLabelError);
          assert.equal(err.message, "service name is required");
          return true;
        },
      );
    }
  });

  it("reports the first bad name in name order", () => {
    assert.throws(() => validatePushLabels(pairs(["z-z", "1"], ["a b", "1"], ["", "1"])), { message: "label name is required" });
    assert.throws(() => validatePushLabels(pairs(["z-z", "1"], ["a b", "1"])), {
      message: "invalid label name: a b: character is not allowed: ' '",
    });
  });
});
