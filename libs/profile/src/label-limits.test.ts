import { test } from "node:test";
import assert from "node:assert/strict";
import { labelLimitProblem, labelLimits } from "./label-limits.js";
import { parseName } from "./parse-name.js";
import { validatePushLabels } from "./push-labels.js";
import { InvalidLabelError, InvalidNameError } from "./errors.js";

const many = (n: number) => new Map(Array.from({ length: n }, (_, i) => [`l${i}`, "v"]));

test("label sets within the limits pass, larger ones are named precisely", () => {
  assert.equal(labelLimitProblem(many(labelLimits.maxLabels)), undefined);
  assert.equal(labelLimitProblem(many(labelLimits.maxLabels + 1)), `too many labels: ${labelLimits.maxLabels + 1}, at most ${labelLimits.maxLabels}`);
  assert.match(labelLimitProblem(new Map([["n".repeat(labelLimits.maxNameLength + 1), "v"]]))!, /^label name too long/);
  assert.match(labelLimitProblem(new Map([["n", "v".repeat(labelLimits.maxValueLength + 1)]]))!, /^value of label "n" too long/);
});

test("a Push series with 10,000 labels is refused", () => {
  const labels = [{ name: "__name__", value: "cpu" }, ...Array.from({ length: 10_000 }, (_, i) => ({ name: `l${i}`, value: "v" }))];
  assert.throws(
    () => validatePushLabels(labels),
    (err: unknown) => err instanceof InvalidLabelError && /too many labels/.test(err.message),
  );
});

test("an /ingest name with too many labels is a name: error", () => {
  const name = `app{${Array.from({ length: labelLimits.maxLabels + 1 }, (_, i) => `l${i}=v`).join(",")}}`;
  assert.throws(
    () => parseName(name),
    (err: unknown) => err instanceof InvalidNameError && /^name: too many labels/.test(err.message),
  );
});
