import { spawnSync } from "node:child_process";

/** Bytes the measure touches: enough for a steady figure, little enough to take well under a second. */
const TOUCHED_BYTES = 256 * 2 ** 20;

// In a child of its own, so that the memory it touches is new to the process and goes with it. A
// write per 4 KiB page, twice: the second pass costs the loop alone, the first also the fault.
const script = `
const size = ${TOUCHED_BYTES};
const bytes = Buffer.allocUnsafeSlow(size);
const pass = (value) => {
  const start = process.cpuUsage();
  for (let i = 0; i < size; i += 4096) bytes[i] = value;
  const spent = process.cpuUsage(start);
  return spent.user + spent.system;
};
const first = pass(1);
const second = pass(2);
process.stdout.write(JSON.stringify({ first, second }));
`;

/**
 * CPU microseconds per KiB of memory a process touches for the first time: the kernel's fault and
 * zeroing of the page, and on a virtual machine whatever its hypervisor does to back the page. On
 * the project's machine this is the largest part of what storing a profile costs Redis while its
 * memory grows (docs/performance.md, "New memory"); NaN when the child cannot run.
 */
export function firstTouchMicrosPerKiB(): number {
  const child = spawnSync(process.execPath, ["-e", script], { encoding: "utf8" });
  try {
    const { first, second } = JSON.parse(child.stdout) as { first: number; second: number };
    return Math.max(0, first - second) / (TOUCHED_BYTES / 1024);
  } catch {
    return Number.NaN;
  }
}
