import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { MachinePauses } from "./machine-pauses.js";
import { StolenTime } from "./stolen-time.js";

/** Clock ticks per second of the CPU times in /proc (100 on every Linux seen; asked all the same). */
const ticksPerSecond = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout?.trim()) || 100;

/** A process of the bench whose CPU is read (Linux: /proc), named in the figures. */
export interface MeteredProcess {
  name: string;
  pid: number;
}

/** CPU seconds, user and system, of every thread of a running process so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The fields after the command name (which may hold spaces and parentheses), from field 3, state:
  // utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

/** The CPU of a few processes over a span, per profile: where the machine's cores went, and what its host took. */
export class ProcessCpu {
  private readonly start: number[];
  private readonly stolen = new StolenTime();
  private readonly pauses = new MachinePauses();

  constructor(private readonly processes: readonly MeteredProcess[]) {
    this.start = processes.map(({ pid }) => cpuSeconds(pid));
  }

  /** The share of the machine's CPU time stolen by its hypervisor since construction (NaN if unknown). */
  stolenShare(): number {
    return this.stolen.share();
  }

  /** The longest span since construction in which the whole machine stood still, in ms (see MachinePauses); read once, at the span's end. */
  longestPauseMs(): number {
    return this.pauses.stop();
  }

  /** Microseconds of CPU per profile of each process since construction. */
  perProfile(profiles: number): { process: string; micros: number }[] {
    return this.processes.map(({ name, pid }, i) => ({ process: name, micros: ((cpuSeconds(pid) - this.start[i]!) * 1e6) / profiles }));
  }
}
