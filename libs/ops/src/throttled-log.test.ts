import assert from "node:assert/strict";
import { test } from "node:test";
import { createLogger } from "./logger.js";
import { ThrottledLog } from "./throttled-log.js";

test("logs a condition at once, then at most once per interval per key with the count since its last line", () => {
  const lines: { target: string; count: number; msg: string }[] = [];
  const logger = createLogger({ level: "warn", destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  let now = 0;
  const log = new ThrottledLog(logger, 10_000, () => now);
  const alpha = () => log.warn("alpha", { target: "alpha" }, "alpha full");

  alpha();
  for (let i = 0; i < 5; i++) alpha();
  log.warn("beta", { target: "beta" }, "beta full");
  now = 9_999;
  alpha();
  now = 10_000;
  alpha();

  assert.deepEqual(
    lines.map(({ target, count, msg }) => ({ target, count, msg })),
    [
      { target: "alpha", count: 1, msg: "alpha full" },
      { target: "beta", count: 1, msg: "beta full" },
      { target: "alpha", count: 7, msg: "alpha full" },
    ],
  );
});

test("keys whose interval is over are let go once many have piled up: errors that name a job each take one", () => {
  const lines: { count: number }[] = [];
  const logger = createLogger({ level: "warn", destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  let now = 0;
  const log = new ThrottledLog(logger, 10_000, () => now);
  for (let i = 0; i < 1_000; i++) {
    now = i * 100;
    log.warn(`job ${i} lost its lock`, {}, "bookkeeping failed");
  }
  assert.equal(lines.length, 1_000, "each key's first line");
  const kept = (log as unknown as { last: Map<string, unknown> }).last.size;
  assert.ok(kept <= 256 + 1, `at most the keys of the last interval and the bound: ${kept}`);
  // A key still in its interval keeps counting.
  log.warn("job 999 lost its lock", {}, "bookkeeping failed");
  now += 10_000;
  log.warn("job 999 lost its lock", {}, "bookkeeping failed");
  assert.equal(lines.at(-1)?.count, 2);
});
