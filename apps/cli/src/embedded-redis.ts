import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { connect } from "node:net";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export class EmbeddedRedisError extends Error {
  override readonly name = "EmbeddedRedisError";
}

const missingHint = [
  "no Redis configured and no redis-server found on PATH.",
  "Either install one (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis),",
  "start one with `docker compose up redis`, or point the relay at yours with --redis.url / REDIS_URL.",
].join("\n  ");

export interface EmbeddedRedis {
  url: string;
  stop(): Promise<void>;
}

/**
 * A private redis-server for `run` without --redis.url: AOF fsynced before every reply and
 * noeviction, so an acknowledged profile is on disk and survives a crash of the process or host, with its files and unix socket under the storage path.
 */
export async function startEmbeddedRedis(storagePath: string): Promise<EmbeddedRedis> {
  const dir = resolve(storagePath);
  await mkdir(dir, { recursive: true });
  const socket = join(dir, "redis.sock");
  const child = spawn(
    "redis-server",
    ["--port", "0", "--unixsocket", socket, "--unixsocketperm", "700", "--dir", dir, "--save", "",
     "--appendonly", "yes", "--appendfsync", "always", "--maxmemory-policy", "noeviction", "--logfile", "redis.log"],
    { stdio: "ignore" },
  );
  const exited = new Promise<Error>((done) => {
    child.once("error", (err: NodeJS.ErrnoException) =>
      done(new EmbeddedRedisError(err.code === "ENOENT" ? missingHint : `cannot start redis-server: ${err.message}`, { cause: err })),
    );
    child.once("exit", (code) => done(new EmbeddedRedisError(`redis-server exited with code ${code}; see ${join(dir, "redis.log")}`)));
  });
  const ready = waitForSocket(socket, 10_000);
  const outcome = await Promise.race([ready.then(() => undefined), exited]);
  if (outcome instanceof Error) {
    throw outcome;
  }
  return { url: `unix://${socket}`, stop: () => stop(child) };
}

async function waitForSocket(path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await answersPing(path)) {
      return;
    }
    await sleep(20);
  }
  throw new EmbeddedRedisError(`redis-server did not answer on ${path} within ${timeoutMs} ms`);
}

function answersPing(path: string): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect(path);
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => {
      socket.destroy();
      done(data.toString().startsWith("+PONG"));
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) {
    return Promise.resolve();
  }
  return new Promise((done) => {
    child.once("exit", () => done());
    child.kill("SIGTERM");
  });
}
