import { readFileSync } from "node:fs";

/** A reading of the machine's CPU time, all cores, in clock ticks. */
export interface MachineTicks {
  total: number;
  /** Time the hypervisor ran other guests while this one had work (steal). */
  steal: number;
}

/**
 * The first line of /proc/stat (`cpu  user nice system idle iowait irq softirq steal guest
 * guest_nice`); guest time is counted in user time already. Undefined if it is not that line.
 */
export function parseMachineTicks(stat: string): MachineTicks | undefined {
  const [label, ...fields] = stat.split("\n", 1)[0]!.trim().split(/\s+/);
  const ticks = fields.slice(0, 8).map(Number);
  if (label !== "cpu" || ticks.length < 8 || ticks.some((tick) => !Number.isSafeInteger(tick) || tick < 0)) return undefined;
  return { total: ticks.reduce((sum, tick) => sum + tick, 0), steal: ticks[7]! };
}

/** The share of the time between two readings that was stolen; NaN if either is missing or no time passed. */
export function stolenShare(start: MachineTicks | undefined, end: MachineTicks | undefined): number {
  if (start === undefined || end === undefined || end.total <= start.total) return Number.NaN;
  return (end.steal - start.steal) / (end.total - start.total);
}

function readMachineTicks(): MachineTicks | undefined {
  try {
    return parseMachineTicks(readFileSync("/proc/stat", "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * The share of the machine's CPU time that its hypervisor gave to other guests over a span (Linux'
 * steal time): on a shared virtual machine the same work costs more CPU, and waits longer, the more
 * is stolen, which is why a run's figures are read against what was stolen meanwhile.
 */
export class StolenTime {
  private readonly start = readMachineTicks();

  /** Since construction; NaN where the kernel does not say (not Linux). */
  share(): number {
    return stolenShare(this.start, readMachineTicks());
  }
}
