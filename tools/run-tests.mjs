// Runs every project's tests through Nx and closes with plain summary lines over all of them: the
// tests, summed from each node:test run's own "ℹ pass N" / "ℹ fail N" lines, and each project's line
// coverage, from the "all files" line of its coverage report (Nx prefixes every line with the project).
import { spawn } from "node:child_process";

const nx = spawn("nx", ["run-many", "-t", "test", "--parallel=2", "--outputStyle=stream", ...process.argv.slice(2)], {
  stdio: ["ignore", "pipe", "inherit"],
  env: { ...process.env, NX_DAEMON: "false", NX_TUI: "false" },
});
const totals = { pass: 0, fail: 0, skipped: 0 };
/** Line coverage in percent by project, without the workspace scope. */
const coverage = new Map();
let pending = "";
nx.stdout.on("data", (chunk) => {
  process.stdout.write(chunk);
  const lines = (pending + chunk.toString()).split("\n");
  pending = lines.pop() ?? "";
  for (const line of lines) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: strips the ANSI colours (ESC [ ... m) of node:test's output.
    const plain = line.replace(/\x1b\[[0-9;]*m/g, "");
    const count = /ℹ (pass|fail|skipped) (\d+)\s*$/.exec(plain);
    if (count) totals[count[1]] += Number(count[2]);
    const covered = /^(?:@pyroscope-relay\/)?([\w.-]+):\s+ℹ all files\s*\|\s*([\d.]+)\s*\|/.exec(plain);
    if (covered) coverage.set(covered[1], covered[2]);
  }
});
nx.on("exit", (code) => {
  const skipped = totals.skipped > 0 ? `, ${totals.skipped} skipped` : "";
  console.log(`\ntests: ${totals.pass} passed, ${totals.fail} failed${skipped}`);
  if (coverage.size > 0) {
    const projects = [...coverage].sort(([a], [b]) => a.localeCompare(b)).map(([project, lines]) => `${project} ${lines}%`);
    console.log(`line coverage: ${projects.join(", ")}`);
  }
  process.exit(code ?? 1);
});
