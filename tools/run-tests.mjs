// Runs every project's tests through Nx and closes with one plain summary line over all of them,
// summed from each node:test run's own "ℹ pass N" / "ℹ fail N" lines.
import { spawn } from "node:child_process";

const nx = spawn("nx", ["run-many", "-t", "test", "--parallel=2", "--outputStyle=stream", ...process.argv.slice(2)], {
  stdio: ["ignore", "pipe", "inherit"],
  env: { ...process.env, NX_DAEMON: "false", NX_TUI: "false" },
});
const totals = { pass: 0, fail: 0, skipped: 0 };
let pending = "";
nx.stdout.on("data", (chunk) => {
  process.stdout.write(chunk);
  const lines = (pending + chunk.toString()).split("\n");
  pending = lines.pop() ?? "";
  for (const line of lines) {
    const match = /ℹ (pass|fail|skipped) (\d+)\s*$/.exec(line.replace(/\x1b\[[0-9;]*m/g, ""));
    if (match) totals[match[1]] += Number(match[2]);
  }
});
nx.on("exit", (code) => {
  const skipped = totals.skipped > 0 ? `, ${totals.skipped} skipped` : "";
  console.log(`\ntests: ${totals.pass} passed, ${totals.fail} failed${skipped}`);
  process.exit(code ?? 1);
});
