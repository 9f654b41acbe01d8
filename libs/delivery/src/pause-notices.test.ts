import assert from "node:assert/strict";
import { test } from "node:test";
import { PauseNotices } from "./pause-notices.js";

test("one notice per pause: the jobs that meet the same pause are no news, the next pause is", () => {
  const notices = new PauseNotices();
  assert.equal(notices.news(0, 1_000), true, "the first pause");
  // Fifteen more jobs meet it within its second, each with its own jitter.
  for (let i = 1; i <= 15; i++) assert.equal(notices.news(i * 10, 900 + i * 13), false, `job ${i} of the same pause`);
  assert.equal(notices.news(1_000, 2_000), true, "the pause after it, once it is over");
  assert.equal(notices.news(1_500, 2_100), false, "a job of that one");
});

test("a pause at least twice as long as what is left of the one shown is news at once", () => {
  const notices = new PauseNotices();
  assert.equal(notices.news(0, 1_000), true);
  assert.equal(notices.news(500, 999), false, "about as long as what is left: the same news");
  assert.equal(notices.news(500, 3_600_000), true, "the target asks for an hour");
  assert.equal(notices.news(600, 3_600_000), false, "and again, from another job");
});
