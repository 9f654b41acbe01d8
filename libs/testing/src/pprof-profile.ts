import { gzipSync } from "node:zlib";
import { Function as PprofFunction, Location, Profile, Sample, StringTable, ValueType } from "pprof-format";
import { seededRandom } from "./seeded-random.js";

export interface PprofOptions {
  /** Different seeds give different stacks and values, hence different bytes. Default 1. */
  seed?: number;
  /** Number of samples. Default 20. */
  samples?: number;
  /** Profile time (ms since the epoch); default now, so a real Pyroscope accepts it. */
  timeMs?: number;
}

const FUNCTION_NAMES = [
  "main",
  "runtime.main",
  "http.serve",
  "handler.ingest",
  "json.encode",
  "zlib.deflate",
  "db.query",
  "cache.get",
  "proto.marshal",
  "sort.slice",
];

/** A valid, uncompressed pprof `Profile` (CPU-like: samples/count and cpu/nanoseconds). */
export function plainPprof(options: PprofOptions = {}): Buffer {
  const random = seededRandom(options.seed ?? 1);
  const strings = new StringTable();
  const functions = FUNCTION_NAMES.map(
    (name, i) =>
      new PprofFunction({
        id: i + 1,
        name: strings.dedup(name),
        systemName: strings.dedup(name),
        filename: strings.dedup(`${name.split(".")[0]}.go`),
      }),
  );
  const locations = functions.map((fn, i) => new Location({ id: i + 1, line: [{ functionId: fn.id, line: 10 + i }] }));
  const samples = Array.from({ length: options.samples ?? 20 }, () => {
    const depth = 1 + Math.floor(random() * 5);
    const locationId = Array.from({ length: depth }, () => 1 + Math.floor(random() * locations.length));
    const count = 1 + Math.floor(random() * 100);
    return new Sample({ locationId, value: [count, count * 10_000_000] });
  });
  const profile = new Profile({
    sampleType: [
      new ValueType({ type: strings.dedup("samples"), unit: strings.dedup("count") }),
      new ValueType({ type: strings.dedup("cpu"), unit: strings.dedup("nanoseconds") }),
    ],
    periodType: new ValueType({ type: strings.dedup("cpu"), unit: strings.dedup("nanoseconds") }),
    period: 10_000_000,
    timeNanos: BigInt(options.timeMs ?? Date.now()) * 1_000_000n,
    durationNanos: 10_000_000_000,
    function: functions,
    location: locations,
    sample: samples,
    stringTable: strings,
  });
  return Buffer.from(profile.encode());
}

/** The same profile, gzipped, as SDKs upload it. */
export function gzippedPprof(options: PprofOptions = {}): Buffer {
  return gzipSync(plainPprof(options));
}
