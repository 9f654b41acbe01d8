import assert from "node:assert/strict";
import { test } from "node:test";
import { DeadlineError, within } from "./deadline.js";

test("work that ends in time gives its outcome, its value or its error", async () => {
  assert.equal(await within(Promise.resolve(7), 1_000, "no answer"), 7);
  await assert.rejects(within(Promise.reject(new Error("refused")), 1_000, "no answer"), /^Error: refused$/);
});

test("work that does not end in time: a DeadlineError once the time is up, not later", async () => {
  const started = Date.now();
  await assert.rejects(within(new Promise(() => undefined), 100, "Redis did not answer"), (error: unknown) => {
    assert.ok(error instanceof DeadlineError);
    assert.equal(error.message, "Redis did not answer within 0.1 s");
    return true;
  });
  assert.ok(Date.now() - started < 1_000, `${Date.now() - started} ms`);
});
