import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidLabelError } from "./errors.js";
import { setLabel, withExternalLabels, withServiceName } from "./label-set.js";

const set = (record: Record<string, string>) => new Map(Object.entries(record));

describe("setLabel", () => {
  it("sets a value and deletes on an empty one", () => {
    const labels = set({ a: "1" });
    setLabel(labels, "b", "2");
    setLabel(labels, "a", "");
    assert.deepEqual(labels, set({ b: "2" }));
  });
});

describe("withServiceName", () => {
  it("defaults service_name to the app (Alloy: name=test_app)", () => {
    assert.deepEqual(withServiceName(set({ __name__: "test_app" })), set({ __name__: "test_app", service_name: "test_app" }));
  });

  it("keeps an explicit service_name and records the app as app_name", () => {
    assert.deepEqual(
      withServiceName(set({ __name__: "test.app", service_name: "my-service", app_name: "old" })),
      set({ __name__: "test.app", service_name: "my-service", app_name: "test.app" }),
    );
  });

  it("copies a Push profile type, as Alloy does", () => {
    assert.deepEqual(withServiceName(set({ __name__: "process_cpu" })), set({ __name__: "process_cpu", service_name: "process_cpu" }));
  });

  it("sets nothing without __name__ and then clears app_name", () => {
    assert.deepEqual(withServiceName(set({ app: "x" })), set({ app: "x" }));
    assert.deepEqual(withServiceName(set({ service_name: "s", app_name: "a" })), set({ service_name: "s" }));
  });

  it("leaves its input alone", () => {
    const input = set({ __name__: "app" });
    withServiceName(input);
    assert.deepEqual(input, set({ __name__: "app" }));
  });
});

describe("withExternalLabels", () => {
  it("overrides, adds and deletes on an empty value", () => {
    assert.deepEqual(
      withExternalLabels(set({ env: "dev", team: "a", keep: "1" }), { env: "prod", region: "eu", team: "" }),
      set({ env: "prod", keep: "1", region: "eu" }),
    );
  });

  it("rejects an invalid external label name", () => {
    assert.throws(
      () => withExternalLabels(new Map(), { "my-label": "x" }),
      (err: unknown) => {
        assert.ok(err instanceof InvalidLabelError);
        assert.equal(err.message, "external label: invalid label name: my-label: character is not allowed: '-'");
        return true;
      },
    );
    assert.throws(() => withExternalLabels(new Map(), { "": "x" }), { message: "external label: label name is required" });
  });
});
