import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { TargetConfig } from "@pyroscope-relay/config";
import { type Relabeling, rewritePushLabels } from "@pyroscope-relay/profile";
import { LabelPairSchema, PushRequestSchema, RawProfileSeriesSchema } from "@pyroscope-relay/proto";
import type { RawProfileSeries } from "@pyroscope-relay/proto";
import type { FailureReason, PushProfileRef } from "@pyroscope-relay/queue";
import { RELAY_USER_AGENT, type TargetRequest } from "./target-client.js";

/** One series of a stored Push request, its labels rewritten for a target: one part of its profile. */
export interface SeriesItem {
  index: number;
  part: number;
  tenant: string | undefined;
  series: RawProfileSeries;
  /** Its weight in a combined request: its encoded size, its profiles counted uncompressed (see `COMBINED_PUSH`). */
  size: number;
  /** Its samples and their raw profiles' bytes: what Alloy counts as sent (or dropped) profiles and bytes. */
  samples: number;
  rawBytes: number;
}

export interface PushSeries {
  items: SeriesItem[];
  /** Parts the target cannot take, for good. */
  failures: { parts: number[]; failure: FailureReason }[];
  /** Parts a relabel rule dropped: nothing to send, and nothing left to do. */
  dropped: { part: number; droppedBy: string }[];
}

/**
 * Bounds of one combined downstream Push. Pyroscope refuses, every time, a request whose profiles take
 * more bytes uncompressed than its tenant's ingestion burst (2 MiB by default), and a proxy in front
 * of it may refuse a body over 1 MiB (nginx's default): a combined request stays within 1 MiB with
 * its profiles counted uncompressed. A larger series goes alone, as Alloy sends every series.
 */
export const COMBINED_PUSH = { maxSeries: 64, maxBytes: 1024 * 1024 };

const pushHeaders = ["Content-Type", "application/proto", "Connect-Protocol-Version", "1", ...RELAY_USER_AGENT];

/**
 * The series of a stored Push request that the target still needs, each forwarded as Alloy does:
 * labels rewritten (the target's relabel rules, compiled as `relabeling`, then external labels, `__`
 * labels dropped, sorted), samples untouched.
 */
export function pushSeries(
  target: TargetConfig,
  relabeling: Relabeling | undefined,
  ref: PushProfileRef,
  payload: Buffer,
  handled: ReadonlySet<number>,
): PushSeries {
  const wanted = Array.from({ length: ref.series }, (_, part) => part).filter((part) => !handled.has(part));
  let request;
  try {
    request = fromBinary(PushRequestSchema, payload);
  } catch (error) {
    return {
      items: [],
      failures: [{ parts: wanted, failure: { reason: "invalid payload", detail: `the stored Push request cannot be decoded: ${(error as Error).message}` } }],
      dropped: [],
    };
  }
  const result: PushSeries = { items: [], failures: [], dropped: [] };
  for (const part of wanted) {
    const stored = request.series[part];
    if (stored === undefined) {
      result.failures.push({ parts: [part], failure: { reason: "invalid payload", detail: `the stored Push request has no series ${part}` } });
      continue;
    }
    let rewritten;
    try {
      rewritten = rewritePushLabels(stored.labels, target.externalLabels, relabeling);
    } catch (error) {
      result.failures.push({ parts: [part], failure: { reason: "invalid labels", detail: (error as Error).message } });
      continue;
    }
    if ("droppedBy" in rewritten) {
      result.dropped.push({ part, droppedBy: rewritten.droppedBy });
      continue;
    }
    const labels = rewritten.map((label) => create(LabelPairSchema, label));
    const series = create(RawProfileSeriesSchema, { labels, samples: stored.samples });
    let rawBytes = 0;
    let uncompressed = 0;
    for (const { rawProfile } of stored.samples) {
      rawBytes += rawProfile.length;
      uncompressed += uncompressedSize(rawProfile);
    }
    const size = toBinary(RawProfileSeriesSchema, series).length + uncompressed - rawBytes;
    result.items.push({ index: ref.index, part, tenant: ref.tenant, series, size, samples: stored.samples.length, rawBytes });
  }
  return result;
}

/**
 * Groups series into as few downstream requests as the bounds allow. Only series of one tenant share
 * a request, since the tenant is a header of the whole request.
 */
export function combineSeries(items: readonly SeriesItem[], bounds = COMBINED_PUSH): SeriesItem[][] {
  const byTenant = new Map<string | undefined, SeriesItem[][]>();
  for (const item of items) {
    const groups = byTenant.get(item.tenant) ?? [];
    byTenant.set(item.tenant, groups);
    const open = groups.at(-1);
    const size = open?.reduce((sum, one) => sum + one.size, 0) ?? 0;
    if (open !== undefined && open.length < bounds.maxSeries && size + item.size <= bounds.maxBytes) open.push(item);
    else groups.push([item]);
  }
  return [...byTenant.values()].flat();
}

/**
 * The bytes of a raw profile as Pyroscope counts them against the ingestion rate: a gzip member's
 * uncompressed size, from its trailer (no inflating), or the bytes as they are.
 */
export function uncompressedSize(raw: Uint8Array): number {
  const n = raw.length;
  if (n < 18 || raw[0] !== 0x1f || raw[1] !== 0x8b) return n;
  // ISIZE, little-endian: read in place, without a view per profile.
  const trailer = (raw[n - 4]! | (raw[n - 3]! << 8) | (raw[n - 2]! << 16) | (raw[n - 1]! << 24)) >>> 0;
  return Math.max(trailer, n);
}

/** One downstream Push carrying `items` (all of one tenant). */
export function pushRequest(items: readonly SeriesItem[]): TargetRequest {
  const body = toBinary(PushRequestSchema, create(PushRequestSchema, { series: items.map((item) => item.series) }));
  return { path: "/push.v1.PusherService/Push", headers: pushHeaders, body, tenant: items[0]?.tenant, connect: true };
}
