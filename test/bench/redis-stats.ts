import { Redis } from "ioredis";

/** One `INFO everything` reading: commandstats, CPU and memory at the same instant. */
export interface RedisSnapshot {
  /** Calls per command (`set`, `evalsha`, `client|setname`, ...), including calls from scripts. */
  calls: Map<string, number>;
  /** Microseconds spent per command. */
  usec: Map<string, number>;
  /** used_cpu_sys + used_cpu_user, seconds. */
  cpuSeconds: number;
  usedMemory: number;
  /** How many INFO calls the bench had made before this one. */
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
  /** Every command by calls, most first. */
  commands: CommandCost[];
}

/**
 * Reads Redis' counters for the bench. CONFIG RESETSTAT would not do: it leaves used_cpu_* alone,
 * so every figure is a difference between two snapshots.
 */
export class RedisProbe {
  private probeCalls = 0;
  // No ready check: it would send an INFO of its own, which the deltas could not tell apart.
  private readonly client: Redis;

  constructor(socketPath: string) {
    this.client = new Redis({ path: socketPath, enableReadyCheck: false, maxRetriesPerRequest: 1 });
  }

  async snapshot(): Promise<RedisSnapshot> {
    const probeCalls = this.probeCalls++;
    const info = await this.client.info("everything");
    const calls = new Map<string, number>();
    const usec = new Map<string, number>();
    for (const [, command = "", count, spent] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
      calls.set(command, Number(count));
      usec.set(command, Number(spent));
    }
    return {
      calls,
      usec,
      cpuSeconds: field(info, "used_cpu_sys") + field(info, "used_cpu_user"),
      usedMemory: field(info, "used_memory"),
      probeCalls,
    };
  }

  close(): void {
    this.client.disconnect();
  }
}

export function redisDelta(before: RedisSnapshot, after: RedisSnapshot): RedisDelta {
  // Redis counts a command once it has answered, so `after` holds `before`'s INFO and every one
  // in between, but not itself.
  const ownInfoCalls = after.probeCalls - before.probeCalls;
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
    commands,
  };
}

function field(info: string, name: string): number {
  const value = new RegExp(`^${name}:([\\d.]+)`, "m").exec(info)?.[1];
  if (value === undefined) throw new Error(`INFO has no ${name}`);
  return Number(value);
}
