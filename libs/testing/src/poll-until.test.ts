import assert from "node:assert/strict";
import { test } from "node:test";
import { PollTimeoutError, pollUntil } from "./poll-until.js";

test("resolves with the first value that is neither undefined, null nor false, sync or async", async () => {
  let calls = 0;
  assert.equal(await pollUntil("the third call", () => (++calls === 3 ? "third" : undefined), { everyMs: 1 }), "third");
  assert.equal(calls, 3);
  const answers = [null, false, undefined, "found"];
  assert.equal(await pollUntil("a lookup that misses with null", async () => answers.shift(), { everyMs: 1 }), "found");
  assert.equal(await pollUntil("zero", async () => 0), 0, "0 counts as a value");
});

test("rejects with a PollTimeoutError naming what it waited for once the deadline passed", async () => {
  const started = Date.now();
  await assert.rejects(
    pollUntil("never", () => false, { timeoutMs: 50, everyMs: 5 }),
    (error: Error) => {
      assert.ok(error instanceof PollTimeoutError);
      assert.match(error.message, /timed out after 50 ms waiting for never/);
      return true;
    },
  );
  assert.ok(Date.now() - started >= 50);
});
