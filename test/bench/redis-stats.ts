import { readFileSync } from "node:fs";
import { Redis } from "ioredis";

/** One `INFO everything` reading of every probed node: commandstats, CPU and memory, summed. */
export interface RedisSnapshot {
  /** Calls per command (`set`, `evalsha`, `client|setname`, ...), including calls from scripts. */
  calls: Map<string, number>;
  /** Microseconds spent per command. */
  usec: Map<string, number>;
  /** used_cpu_sys + used_cpu_user, seconds, over all nodes. */
  cpuSeconds: number;
  /** The same per node, in the probe's order. */
  cpuSecondsByNode: number[];
  /** used_cpu_sys_children + used_cpu_user_children: forked children (AOF rewrites), counted once they exit. */
  childCpuSeconds: number;
  usedMemory: number;
  /**
   * The most memory each node's process has had resident (VmHWM), summed: what grows with it is
   * memory Redis touched for the first time. NaN where /proc cannot tell (not Linux, not local).
   */
  peakRssBytes: number;
  /** total_net_input_bytes and total_net_output_bytes: what clients sent Redis and what it answered. */
  netInputBytes: number;
  netOutputBytes: number;
  /** How many INFO calls the bench had made to each node before this one. */
  probeCalls: number;
}

export interface CommandCost {
  command: string;
  calls: number;
  usec: number;
}

/** What Redis did between two snapshots, the bench's own INFO calls taken out. */
export interface RedisDelta {
  calls: number;
  cpuMicros: number;
  /** CPU of the children Redis forked and reaped meanwhile (AOF rewrites), not in `cpuMicros`. */
  childCpuMicros: number;
  /** Bytes clients sent Redis and Redis sent clients (the probe's INFO replies included: a few KiB each). */
  netInputBytes: number;
  netOutputBytes: number;
  /** How much Redis' peak resident memory grew: memory it touched for the first time (NaN if unknown). */
  newMemoryBytes: number;
  /** CPU per probed node (a master of a cluster), in the probe's order. */
  cpuMicrosByNode: { node: string; micros: number }[];
  /** Every command by calls, most first. */
  commands: CommandCost[];
}

/** Redis' fsyncs before replies (`appendfsync always`) in a span of time, over every probed node. */
export interface FsyncStalls {
  /** The longest, in ms (0 when none took 1 ms or more, as with `appendfsync everysec`). */
  longestMs: number;
  /** Seconds in which one took over `overMs`. */
  secondsOver: number;
  overMs: number;
}

/** A node to read: a unix socket or a TCP port on loopback, named in the figures. */
export interface ProbedNode {
  name: string;
  path?: string;
  port?: number;
}

/**
 * Reads Redis' counters for the bench, on one Redis or on every master of a cluster. CONFIG
 * RESETSTAT would not do: it leaves used_cpu_* alone, so every figure is a difference between two
 * snapshots.
 */
export class RedisProbe {
  private probeCalls = 0;
  // No ready check: it would send an INFO of its own, which the deltas could not tell apart.
  private readonly clients: Redis[];

  constructor(readonly nodes: readonly ProbedNode[]) {
    this.clients = nodes.map(({ path, port }) => new Redis({ path, port, host: "127.0.0.1", enableReadyCheck: false, maxRetriesPerRequest: 1 }));
  }

  /**
   * Has Redis' latency monitor record every event of 1 ms or more, fsyncs included: a bench Redis is
   * fresh, so its history then holds only the phase's. Called before the first snapshot, so that
   * the CONFIG calls are in no delta.
   */
  async watchLatency(): Promise<void> {
    await Promise.all(this.clients.map((client) => client.config("SET", "latency-monitor-threshold", "1")));
  }

  /** The fsyncs Redis made before its replies since `sinceMs` (`Date.now()`), from its latency monitor. */
  async fsyncStalls(sinceMs: number, overMs: number): Promise<FsyncStalls> {
    // One entry per second with an event: [unix seconds, the longest in that second in ms].
    const histories = await Promise.all(this.clients.map((client) => client.call("LATENCY", "HISTORY", "aof-fsync-always") as Promise<[number, number][]>));
    const slowest = new Map<number, number>();
    for (const [second, ms] of histories.flat()) {
      if (second * 1000 >= sinceMs - 999) slowest.set(second, Math.max(ms, slowest.get(second) ?? 0));
    }
    const latencies = [...slowest.values()];
    return { longestMs: Math.max(0, ...latencies), secondsOver: latencies.filter((ms) => ms > overMs).length, overMs };
  }

  async snapshot(): Promise<RedisSnapshot> {
    const probeCalls = this.probeCalls++;
    const infos = await Promise.all(this.clients.map((client) => client.info("everything")));
    const calls = new Map<string, number>();
    const usec = new Map<string, number>();
    for (const info of infos) {
      for (const [, command = "", count, spent] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
        calls.set(command, (calls.get(command) ?? 0) + Number(count));
        usec.set(command, (usec.get(command) ?? 0) + Number(spent));
      }
    }
    const cpuSecondsByNode = infos.map((info) => field(info, "used_cpu_sys") + field(info, "used_cpu_user"));
    return {
      calls,
      usec,
      cpuSeconds: cpuSecondsByNode.reduce((sum, s) => sum + s, 0),
      cpuSecondsByNode,
      childCpuSeconds: infos.reduce((sum, info) => sum + field(info, "used_cpu_sys_children") + field(info, "used_cpu_user_children"), 0),
      usedMemory: infos.reduce((sum, info) => sum + field(info, "used_memory"), 0),
      peakRssBytes: infos.reduce((sum, info) => sum + peakRss(field(info, "process_id")), 0),
      netInputBytes: infos.reduce((sum, info) => sum + field(info, "total_net_input_bytes"), 0),
      netOutputBytes: infos.reduce((sum, info) => sum + field(info, "total_net_output_bytes"), 0),
      probeCalls,
    };
  }

  /** What Redis did from `before` to `after`. */
  delta(before: RedisSnapshot, after: RedisSnapshot): RedisDelta {
    return redisDelta(this.nodes, before, after);
  }

  close(): void {
    for (const client of this.clients) client.disconnect();
  }
}

function redisDelta(nodes: readonly ProbedNode[], before: RedisSnapshot, after: RedisSnapshot): RedisDelta {
  // Redis counts a command once it has answered, so `after` holds `before`'s INFO and every one
  // in between, but not itself; each node got one per snapshot.
  const ownInfoCalls = (after.probeCalls - before.probeCalls) * nodes.length;
  const commands: CommandCost[] = [];
  for (const [command, calls] of after.calls) {
    const delta = calls - (before.calls.get(command) ?? 0) - (command === "info" ? ownInfoCalls : 0);
    const usec = (after.usec.get(command) ?? 0) - (before.usec.get(command) ?? 0);
    if (delta > 0) commands.push({ command, calls: delta, usec });
  }
  commands.sort((a, b) => b.calls - a.calls);
  return {
    calls: commands.reduce((sum, c) => sum + c.calls, 0),
    cpuMicros: (after.cpuSeconds - before.cpuSeconds) * 1e6,
    childCpuMicros: (after.childCpuSeconds - before.childCpuSeconds) * 1e6,
    netInputBytes: after.netInputBytes - before.netInputBytes,
    netOutputBytes: after.netOutputBytes - before.netOutputBytes,
    newMemoryBytes: after.peakRssBytes - before.peakRssBytes,
    cpuMicrosByNode: nodes.map((node, i) => ({ node: node.name, micros: (after.cpuSecondsByNode[i]! - before.cpuSecondsByNode[i]!) * 1e6 })),
    commands,
  };
}

/** VmHWM of process `pid`, in bytes; NaN when /proc does not have it. */
export function peakRss(pid: number): number {
  try {
    return parseVmHwm(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return Number.NaN;
  }
}

/** The `VmHWM:  <n> kB` line of a /proc/<pid>/status, in bytes; NaN without one. */
export function parseVmHwm(status: string): number {
  const kib = /^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1];
  return kib === undefined ? Number.NaN : Number(kib) * 1024;
}

function field(info: string, name: string): number {
  const value = new RegExp(`^${name}:([\\d.]+)`, "m").exec(info)?.[1];
  if (value === undefined) throw new Error(`INFO has no ${name}`);
  return Number(value);
}
