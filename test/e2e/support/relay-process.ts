import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "@pyroscope-relay/testing";

/** The built command, exactly as users run it. */
export const relayMain = resolve(dirname(fileURLToPath(import.meta.url)), "../../../apps/cli/dist/main.js");

/** Node's flags of the relay's processes, as `npm start`, the command and the Docker image give them. */
export const relayNodeFlags = ["--max-semi-space-size=16"];

/** How long `stop` waits for the process to exit before it kills it. */
const stopDeadlineMs = 60_000;

export interface RelayProcess {
  opsUrl: string;
  dir: string;
  child: ChildProcess;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface RelayProcessOptions {
  command?: "run" | "ingest" | "writer";
  /** The Alloy configuration text. */
  config: string;
  args?: string[];
  env?: Record<string, string>;
  /** The ops server's listen host, 127.0.0.1 by default; it is reached over 127.0.0.1 either way. */
  opsHost?: string;
  /** Start it as the leader of a process group of its own, as a shell starts a command (Ctrl-C reaches the group). */
  ownProcessGroup?: boolean;
  /**
   * The `writer` command's CPU priority. `as-started` (the default here) passes `--writer.nice=0`
   * unless `args` set it: under the relay's own default, SCHED_IDLE, a writer gets next to no CPU
   * while the machine is busy (a test's load, a shared CI host), and the tests wait for its
   * deliveries. `deployed` keeps the relay's default, for the bench, the fault suites (ingest under
   * load beside a writer as deployed) and the tests of the priority.
   */
  writerPriority?: "as-started" | "deployed";
}

/** The flags that run a `writer` command as started rather than at the relay's low default priority. */
function writerPriorityArgs(options: RelayProcessOptions): string[] {
  if (options.command !== "writer" || options.writerPriority === "deployed") return [];
  const set = (options.args ?? []).some((arg) => arg === "--writer.nice" || arg.startsWith("--writer.nice="));
  return set || options.env?.RELAY_WRITER_NICE !== undefined ? [] : ["--writer.nice=0"];
}

export async function startRelayProcess(options: RelayProcessOptions): Promise<RelayProcess> {
  const dir = await mkdtemp(join(tmpdir(), "relay-e2e-"));
  const configPath = join(dir, "relay.alloy");
  await writeFile(configPath, options.config);
  const opsPort = await freePort();
  const child = spawn(
    process.execPath,
    [
      ...relayNodeFlags,
      relayMain,
      options.command ?? "run",
      configPath,
      `--server.http.listen-addr=${options.opsHost ?? "127.0.0.1"}:${opsPort}`,
      `--storage.path=${join(dir, "data")}`,
      ...writerPriorityArgs(options),
      ...(options.args ?? []),
    ],
    { env: { ...process.env, RELAY_LOG_LEVEL: "debug", ...options.env }, stdio: ["ignore", "pipe", "pipe"], detached: options.ownProcessGroup === true },
  );
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
  const opsUrl = `http://127.0.0.1:${opsPort}`;
  const handle: RelayProcess = {
    opsUrl,
    dir,
    child,
    output: () => output,
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
      }
      // A shutdown that hangs must not hang the test file with it: the caller sees the null code.
      const stuck = setTimeout(() => child.kill("SIGKILL"), stopDeadlineMs);
      const code = await exited.finally(() => clearTimeout(stuck));
      await rm(dir, { recursive: true, force: true });
      return code;
    },
  };
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`relay exited with ${child.exitCode} before it was ready:\n${output}`);
    }
    const ready = await fetch(`${opsUrl}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) {
      return handle;
    }
    await sleep(50);
  }
  await handle.stop("SIGKILL");
  throw new Error(`relay not ready within 15 s:\n${output}`);
}
