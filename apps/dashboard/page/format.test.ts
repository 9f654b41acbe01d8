import assert from "node:assert/strict";
import { test } from "node:test";
import { count, formatAge, formatBytes, formatRate, formatTime } from "./format.js";

test("bytes in binary units, three significant digits", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(1023), "1023 B");
  assert.equal(formatBytes(1024), "1 KiB");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(10.25 * 1024 * 1024), "10.3 MiB");
  assert.equal(formatBytes(1024 ** 3), "1 GiB");
  assert.equal(formatBytes(300 * 1024 ** 3), "300 GiB");
  assert.equal(formatBytes(2048 * 1024 ** 4), "2048 TiB");
});

test("ages in their two largest units", () => {
  assert.equal(formatAge(0), "0ms");
  assert.equal(formatAge(850.4), "850ms");
  assert.equal(formatAge(4_240), "4.2s");
  assert.equal(formatAge(59_000), "59s");
  assert.equal(formatAge(185_000), "3m 05s");
  assert.equal(formatAge(2 * 3_600_000 + 10 * 60_000 + 59_000), "2h 10m");
  assert.equal(formatAge(3 * 86_400_000 + 4 * 3_600_000), "3d 4h");
});

test("rates: one decimal under 10 per second", () => {
  assert.equal(formatRate(0), "0/s");
  assert.equal(formatRate(0.25), "0.3/s");
  assert.equal(formatRate(9.94), "9.9/s");
  assert.equal(formatRate(123.6), "124/s");
});

test("times: the time of day today, the date too on another day", () => {
  const now = new Date(2024, 4, 17, 15, 0, 0).getTime();
  assert.equal(formatTime(new Date(2024, 4, 17, 9, 5, 7).getTime(), now), "09:05:07");
  assert.equal(formatTime(new Date(2024, 4, 16, 23, 59, 0).getTime(), now), "2024-05-16 23:59:00");
});

test("counts agree in number", () => {
  assert.equal(count(1, "batch", "batches"), "1 batch");
  assert.equal(count(0, "batch", "batches"), "0 batches");
  assert.equal(count(2, "profile"), "2 profiles");
});
