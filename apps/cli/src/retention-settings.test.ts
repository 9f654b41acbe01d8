import assert from "node:assert/strict";
import { test } from "node:test";
import { parseSettings, SettingsError } from "@pyroscope-relay/config";
import { checkRetentionSettings, formatDuration } from "./retention-settings.js";

const settings = (...argv: string[]) => parseSettings(argv, {}).settings;

test("accepts a payload TTL at least as long as the failed-job max age", () => {
  checkRetentionSettings(settings());
  checkRetentionSettings(settings("--queue.payload-ttl=24h", "--queue.failed-max-age=24h"));
  checkRetentionSettings(settings("--queue.payload-ttl=48h", "--queue.failed-max-age=90m"));
});

test("refuses a payload TTL shorter than the failed-job max age, naming both", () => {
  assert.throws(
    () => checkRetentionSettings(settings("--queue.payload-ttl=24h")),
    (error: unknown) => {
      assert.ok(error instanceof SettingsError);
      assert.equal(error.setting, "--queue.payload-ttl");
      assert.match(error.message, /^--queue\.payload-ttl: 24h is shorter than --queue\.failed-max-age \(168h\)/);
      return true;
    },
  );
});

test("formats durations in their largest whole unit", () => {
  assert.deepEqual([604_800_000, 5_400_000, 90_000, 30_000, 1_500, 0].map(formatDuration), ["168h", "90m", "90s", "30s", "1500ms", "0ms"]);
});
