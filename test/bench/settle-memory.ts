import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** How the bench leaves the machine's free memory before each load: see `settleMemory`. */
export type MemoryState = "settled" | "cold";

/** Profiles per second no unpaced phase has reached on the project's machines (ingest alone: 14,700). */
const UNPACED_CEILING_PER_S = 16_000;

/** Memory a stored profile takes for the first time: Redis' copy of the body and the AOF's page cache. */
export function bytesPerProfile(bodySize: number): number {
  return 2 * bodySize + 2_048;
}

/** What an unpaced load of `durationS` can store, at most. */
export function unpacedProfiles(durationS: number): number {
  return UNPACED_CEILING_PER_S * durationS;
}

/** Touched in chunks, so that the child never needs a single allocation of the whole size. */
const CHUNK_BYTES = 256 * 2 ** 20;

/** Never more than this share of what the kernel says is available: the phase needs the memory itself. */
const AVAILABLE_SHARE = 0.6;

/**
 * Touches `bytes` of memory in a child process, which then exits and frees it, right before a load.
 *
 * Why: on a virtual machine whose kernel reports free pages to the host (virtio free page
 * reporting), the host takes those pages back and backs them again only when the guest touches them,
 * at a price that can be several times the fault and zeroing themselves. Redis' heap and the AOF's
 * page cache grow into free memory during a load, so how much of that memory the host still backed
 * decided up to half of Redis' CPU per profile, and it depended on what the machine had done in the
 * seconds before (docs/performance.md, "Memory the host took back"). Freshly freed pages are handed
 * out first, so a load right after this one grows into memory the host backs already: the figures
 * measure the relay and Redis, not the hypervisor's bookkeeping, the same way for every phase.
 * Returns what was touched and how long it took; nothing where /proc/meminfo cannot be read.
 */
export function settleMemory(bytes: number): { bytes: number; ms: number } {
  const size = settledSize(bytes, availableBytes());
  if (size === 0) return { bytes: 0, ms: 0 };
  const started = Date.now();
  const chunks = chunkSizes(size);
  // Buffer.alloc(n, 1) writes every byte: every page is faulted in, and held until the child exits.
  const script = `const held = []; for (const size of ${JSON.stringify(chunks)}) held.push(Buffer.alloc(size, 1));`;
  const child = spawnSync(process.execPath, ["-e", script], { stdio: "ignore" });
  if (child.status !== 0) return { bytes: 0, ms: Date.now() - started };
  return { bytes: size, ms: Date.now() - started };
}

/** `size` bytes as allocations of at most `CHUNK_BYTES`: whole chunks, then what is left. */
export function chunkSizes(size: number): number[] {
  const sizes = new Array<number>(Math.floor(size / CHUNK_BYTES)).fill(CHUNK_BYTES);
  if (size % CHUNK_BYTES > 0) sizes.push(size % CHUNK_BYTES);
  return sizes;
}

/** What to touch of `bytes` asked for, with `available` bytes available: whole bytes, 0 for none. */
export function settledSize(bytes: number, available: number): number {
  return Math.max(0, Math.floor(Math.min(bytes, available * AVAILABLE_SHARE)));
}

/** MemAvailable of a /proc/meminfo text in bytes; 0 where it is missing. */
export function parseMemAvailable(meminfo: string): number {
  const kib = /^MemAvailable:\s+(\d+) kB$/m.exec(meminfo)?.[1];
  return kib === undefined ? 0 : Number(kib) * 1024;
}

/** MemAvailable in bytes; 0 where /proc/meminfo cannot be read (not Linux). */
function availableBytes(): number {
  try {
    return parseMemAvailable(readFileSync("/proc/meminfo", "utf8"));
  } catch {
    return 0;
  }
}
