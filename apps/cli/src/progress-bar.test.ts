import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { createProgressBar, renderProgress } from "./progress-bar.js";

const at = (examined: number, total: number) => ({ examined, total, replayed: examined, replayedProfiles: examined, skipped: 0, notMatched: 0 });

test("renders the share examined and the counts so far", () => {
  assert.equal(
    renderProgress({ examined: 7, total: 14, replayed: 5, replayedProfiles: 5, skipped: 1, notMatched: 1 }, 10),
    "[#####.....]  7/14  replayed 5, skipped 1, not matched 1",
  );
  assert.equal(renderProgress(at(0, 0), 4), "[####] 0/0  replayed 0, skipped 0, not matched 0");
  assert.equal(renderProgress(at(3, 3), 4), "[####] 3/3  replayed 3, skipped 0, not matched 0");
});

test("draws on a terminal only, at most every 100 ms but always the last step, and clears the line", () => {
  assert.equal(createProgressBar(new PassThrough()), undefined);

  const terminal = Object.assign(new PassThrough(), { isTTY: true });
  const bar = createProgressBar(terminal, 4)!;
  bar.update(at(1, 3));
  bar.update(at(2, 3));
  bar.update(at(3, 3));
  bar.finish();
  const written = String(terminal.read());
  assert.equal(written, "\r[#...] 1/3  replayed 1, skipped 0, not matched 0\x1b[K\r[####] 3/3  replayed 3, skipped 0, not matched 0\x1b[K\r\x1b[K");
});
