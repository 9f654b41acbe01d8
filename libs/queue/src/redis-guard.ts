import { BackgroundReading } from "./background-reading.js";
import { isCluster, mastersOf, type RedisConnection } from "./redis-connection.js";
import { RedisMemoryFullError, ReplicasMissingError } from "./errors.js";

export interface RedisMemoryState {
  usedBytes: number;
  /** `maxmemory`; 0 = no limit, and then Redis is never full. */
  maxBytes: number;
  /** `usedBytes` is at or above 95% of `maxBytes`. */
  full: boolean;
}

/** A master with fewer replicas online than `--redis.min-replicas`. */
export interface MasterShortOfReplicas {
  /** `host:port` on a Cluster (as its slot map names it); `redis` for one Redis. */
  address: string;
  /** Its replicas that follow it now (`state=online` in `INFO replication`, acknowledging); 0 when it did not answer. */
  online: number;
  /** It did not answer the reading (a failover under way, say): a flush to it would fail or wait too. */
  unreachable?: true;
}

export interface RedisGuardState {
  /** The fullest master's memory. */
  memory: RedisMemoryState;
  /** Masters short of replicas; always empty without `minReplicas`. */
  shortOfReplicas: MasterShortOfReplicas[];
}

export interface RedisGuardOptions {
  connection: RedisConnection;
  /** `--redis.min-replicas`: with more than 0, each master's replicas are read too. */
  minReplicas?: number;
  /** How often each master's `INFO` is read (1 s by default); requests only look at the last reading. */
  intervalMs?: number;
  /** Called when `full` flips (and at the first reading when it is full). */
  onMemoryChange?: (state: RedisMemoryState) => void;
  /** Called when the masters short of replicas change (and at the first reading when one is). */
  onReplicasChange?: (short: readonly MasterShortOfReplicas[]) => void;
  /** Called when a reading fails after one that did not (once per outage, not once per second). */
  onError?: (error: unknown) => void;
}

/** Share of `maxmemory` at which ingest stops: the rest is headroom for the writers' own writes. */
const FULL_SHARE = 0.95;

/**
 * Refuses ingest on Redis' state, read in the background rather than per request:
 * - while `used_memory` (of any master, on a Cluster) is at or above 95% of `maxmemory`. Under
 *   `noeviction` a full Redis refuses writes with OOM (which already becomes a 503), but it refuses the
 *   writers' job completions too; stopping ingest a little before keeps them draining, and ingest
 *   resumes at the first reading below the threshold.
 * - with `minReplicas`, a flush that would write to a master with fewer replicas online: its `WAIT`
 *   could only fall short, after the flush ran on the master, where a writer may deliver it before the
 *   client's 503; each retry would then be a duplicate. Refused before anything is written, it is not
 *   stored at all.
 */
export class RedisGuard {
  private last: RedisGuardState | undefined;
  private readonly reading: BackgroundReading;

  constructor(private readonly options: RedisGuardOptions) {
    this.reading = new BackgroundReading(() => this.poll(), options.onError);
  }

  /** Reads now, then every interval, until `stop()`. */
  start(): void {
    this.reading.start(this.options.intervalMs ?? 1_000, { now: true });
  }

  stop(): Promise<void> {
    return this.reading.stop();
  }

  /** The last successful reading; undefined before the first one. */
  get state(): RedisGuardState | undefined {
    return this.last;
  }

  /** Throws `RedisMemoryFullError` when the last reading was full; before any reading, lets the request try. */
  check(): void {
    const memory = this.last?.memory;
    if (memory?.full !== true) return;
    const percent = Math.round((memory.usedBytes / memory.maxBytes) * 100);
    throw new RedisMemoryFullError(
      `Redis memory is at ${percent}% of maxmemory (${memory.usedBytes} of ${memory.maxBytes} bytes): ingest paused until the writers free some`,
    );
  }

  /** The masters the last reading found short of replicas; empty before any reading. */
  get shortOfReplicas(): readonly MasterShortOfReplicas[] {
    return this.last?.shortOfReplicas ?? [];
  }

  /** The masters among `addresses` (all of them on one Redis) that the last reading found short of replicas. */
  shortAmong(addresses: Iterable<string>): MasterShortOfReplicas[] {
    const short = this.shortOfReplicas;
    if (short.length === 0 || !isCluster(this.options.connection)) return [...short];
    const wanted = new Set(addresses);
    return short.filter((master) => wanted.has(master.address));
  }

  /**
   * Throws `ReplicasMissingError` naming them (and `why`) when any of `short` (from `shortAmong`) is;
   * nothing was written.
   */
  refuseShort(short: readonly MasterShortOfReplicas[], why?: string): void {
    if (short.length === 0) return;
    const named = short.map((master) => (master.unreachable ? `${master.address} unreachable` : `${master.address} has ${master.online}`)).join(", ");
    const because = why === undefined ? "" : `: ${why}`;
    throw new ReplicasMissingError(
      `too few Redis replicas online for --redis.min-replicas ${this.options.minReplicas} (${named})${because}; nothing was stored`,
    );
  }

  /**
   * Reads `INFO` of every master once (memory, and replication with `minReplicas`) and updates the
   * state. A master that does not answer counts as short of replicas (with `minReplicas`), the others'
   * readings stand; when none answers, the reading fails and the last state stays.
   */
  async poll(): Promise<RedisGuardState> {
    const { connection, minReplicas = 0 } = this.options;
    const masters = mastersOf(connection);
    if (masters.length === 0) throw new Error("no Redis master known yet");
    const settled = await Promise.allSettled(
      masters.map(async (master) => {
        const [memory, replication] = await Promise.all([master.info("memory"), minReplicas > 0 ? master.info("replication") : undefined]);
        return { memory: parseMemoryInfo(memory), online: replication === undefined ? minReplicas : onlineReplicas(replication) };
      }),
    );
    const address = (index: number) => (isCluster(connection) ? `${masters[index]!.options.host}:${masters[index]!.options.port}` : "redis");
    const answered = settled.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
    if (answered.length === 0) throw (settled[0] as PromiseRejectedResult).reason;
    const shortOfReplicas = settled.flatMap((result, index): MasterShortOfReplicas[] => {
      if (result.status === "rejected") return minReplicas > 0 ? [{ address: address(index), online: 0, unreachable: true }] : [];
      return result.value.online < minReplicas ? [{ address: address(index), online: result.value.online }] : [];
    });
    const state: RedisGuardState = { memory: answered.map((reading) => reading.memory).reduce(fullest), shortOfReplicas };
    const previous = this.last;
    this.last = state;
    this.reading.succeeded();
    if (state.memory.full !== (previous?.memory.full ?? false)) this.options.onMemoryChange?.(state.memory);
    if (describeShort(state.shortOfReplicas) !== describeShort(previous?.shortOfReplicas ?? [])) this.options.onReplicasChange?.(state.shortOfReplicas);
    return state;
  }
}

/**
 * The reading closer to its limit. On a Cluster one full master refuses the profiles of its slots, and
 * a flush may touch any, so ingest pauses while any master is full.
 */
function fullest(a: RedisMemoryState, b: RedisMemoryState): RedisMemoryState {
  const share = (state: RedisMemoryState) => (state.maxBytes > 0 ? state.usedBytes / state.maxBytes : 0);
  return share(b) > share(a) ? b : a;
}

/** `used_memory` and `maxmemory` from `INFO memory` text. */
function parseMemoryInfo(info: string): RedisMemoryState {
  const field = (name: string): number => {
    const value = new RegExp(`^${name}:(\\d+)\\s*$`, "m").exec(info)?.[1];
    if (value === undefined) throw new Error(`INFO memory has no ${name}`);
    return Number(value);
  };
  const usedBytes = field("used_memory");
  const maxBytes = field("maxmemory");
  return { usedBytes, maxBytes, full: maxBytes > 0 && usedBytes >= FULL_SHARE * maxBytes };
}

/**
 * Seconds since a replica's last acknowledgement past which it no longer counts as following. Replicas
 * acknowledge every second; one that stopped (frozen, its host paused, its link black-holed) stays
 * `state=online` until Redis' `repl-timeout` (60 s) while every WAIT for it times out after its flush
 * was written: a 503 whose profiles are delivered anyway, and a duplicate when the client retries.
 */
export const REPLICA_MAX_LAG_S = 2;

/**
 * Replicas that follow the master, from `INFO replication` text (`slave0:ip=...,state=online,...,lag=0`):
 * online and acknowledging. One still syncing holds none of the recent writes, and WAIT would not count it.
 */
function onlineReplicas(info: string): number {
  return info.split(/\r?\n/).filter((line) => {
    if (!/^slave\d+:/.test(line) || !/(?:^|[:,])state=online(?:,|$)/.test(line)) return false;
    const lag = /(?:^|[:,])lag=(\d+)(?:,|$)/.exec(line)?.[1];
    return lag === undefined || Number(lag) <= REPLICA_MAX_LAG_S;
  }).length;
}

function describeShort(short: readonly MasterShortOfReplicas[]): string {
  return short.map((master) => `${master.address}=${master.unreachable ? "unreachable" : master.online}`).join(" ");
}
