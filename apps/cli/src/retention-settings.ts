import { SettingsError } from "@pyroscope-relay/config";
import type { RelaySettings } from "@pyroscope-relay/config";

/**
 * A failed job is kept up to `--queue.failed-max-age` for replay; its profile must not expire first.
 * The payload TTL counts from receipt (or the last replay), so it must be at least that long.
 */
export function checkRetentionSettings(settings: RelaySettings): void {
  if (settings.payloadTtlMs < settings.failedMaxAgeMs) {
    throw new SettingsError(
      "--queue.payload-ttl",
      `${formatDuration(settings.payloadTtlMs)} is shorter than --queue.failed-max-age (${formatDuration(settings.failedMaxAgeMs)}): ` +
        "failed jobs would lose their profiles before they can be replayed; raise the TTL or lower the max age",
    );
  }
}

/** Milliseconds in the largest whole unit, as the flags take them: 168h, 90m, 30s, 250ms. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1_000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
