import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseRetryAfter } from "./retry-after.js";

const now = Date.UTC(2026, 5, 1, 12, 0, 0);

describe("parseRetryAfter", () => {
  it("reads delay-seconds", () => {
    assert.equal(parseRetryAfter("120", now), 120_000);
    assert.equal(parseRetryAfter(" 0 ", now), 0);
    // Date.parse would take "2" for the year 2001.
    assert.equal(parseRetryAfter("2", now), 2_000);
  });

  it("reads the three HTTP-date forms", () => {
    assert.equal(parseRetryAfter("Mon, 01 Jun 2026 12:00:30 GMT", now), 30_000);
    assert.equal(parseRetryAfter("Monday, 01-Jun-26 12:01:00 GMT", now), 60_000);
    assert.equal(parseRetryAfter("Mon Jun  1 12:00:05 2026", now), 5_000);
    assert.equal(parseRetryAfter("Wed Jun 10 12:00:00 2026", now), 9 * 86_400_000);
  });

  it("reads a far two-digit year as the past century", () => {
    assert.equal(parseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", now), 0);
    assert.equal(parseRetryAfter("Thursday, 01-Jun-76 12:00:00 GMT", now), Date.UTC(2076, 5, 1, 12) - now);
    assert.equal(parseRetryAfter("Tuesday, 01-Jun-77 12:00:00 GMT", now), 0);
  });

  it("treats a date in the past as now", () => {
    assert.equal(parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", now), 0);
  });

  it("accepts a leap second", () => {
    assert.equal(parseRetryAfter("Mon, 01 Jun 2026 12:00:60 GMT", now), 60_000);
  });

  it("ignores absent and malformed values", () => {
    const bad = [
      null,
      undefined,
      "",
      "  ",
      "-5",
      "1.5",
      "5s",
      "soon",
      "9".repeat(400),
      "2026-06-01T12:00:30Z",
      "Mon, 01 Jun 2026 12:00:30 UTC",
      "Mon, 1 Jun 2026 12:00:30 GMT",
      "Mon, 30 Feb 2026 12:00:00 GMT",
      "Mon, 01 Jun 2026 24:00:00 GMT",
      "Mon, 01 Jun 2026 12:60:00 GMT",
      "Mon, 01 Jun 2026 12:00:61 GMT",
      "Mon, 01 Foo 2026 12:00:00 GMT",
      "Monday, 01-Jun-2026 12:00:00 GMT",
    ];
    for (const value of bad) assert.equal(parseRetryAfter(value, now), undefined, String(value));
  });
});
