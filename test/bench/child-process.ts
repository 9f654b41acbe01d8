import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { track } from "./teardown.js";

/** A helper process of the bench, spoken to over Node's IPC channel. */
export interface ChildHandle<Ready> {
  /** What the child sent once it was listening. */
  ready: Ready;
  pid: number;
  /** Sends `message` and resolves with the child's reply to it; rejects once the child is gone. */
  request<Reply>(message: object): Promise<Reply>;
  stop(): Promise<void>;
}

/** What a child sends: `{ ready }` once, then `{ id, reply }` per request. */
export type ChildMessage = { ready: unknown } | { id: number; reply: unknown };

/** What the bench sends a child: the request and the id its reply must carry. */
export interface ChildRequest {
  id: number;
  message: unknown;
}

interface Pending {
  resolve(reply: unknown): void;
  reject(error: Error): void;
}

/**
 * Runs `entry` (a file next to this one) in its own Node process, with the binary the relay runs on
 * (`process.execPath`) and the bench's loader flags, so that the load on it never competes with the
 * bench's own event loop.
 */
export async function startChild<Ready>(entry: string, args: string[]): Promise<ChildHandle<Ready>> {
  const file = fileURLToPath(new URL(entry, import.meta.url));
  const child = spawn(process.execPath, [...process.execArgv, file, ...args], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const exited = once(child, "exit");
  const stop = track(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  });
  const pending = new Map<number, Pending>();
  let gone: Error | undefined;
  let nextId = 0;
  const ready = new Promise<Ready>((resolve, reject) => {
    child.on("message", (message: ChildMessage) => {
      if ("ready" in message) resolve(message.ready as Ready);
      else pending.get(message.id)?.resolve(message.reply);
    });
    child.once("exit", (code, signal) => {
      gone = new Error(`${entry} exited (code ${code}, signal ${signal})`);
      reject(gone);
      // No reply will come: a phase polling the child must fail, not wait forever.
      for (const request of pending.values()) request.reject(gone);
    });
    setTimeout(() => reject(new Error(`${entry} not ready within 15 s`)), 15_000).unref();
  });
  const request = <Reply>(message: object): Promise<Reply> =>
    new Promise<Reply>((resolve, reject) => {
      if (gone !== undefined) return reject(gone);
      const id = nextId++;
      pending.set(id, {
        resolve(reply) {
          pending.delete(id);
          resolve(reply as Reply);
        },
        reject(error) {
          pending.delete(id);
          reject(error);
        },
      });
      child.send({ id, message } satisfies ChildRequest);
    });
  try {
    return { ready: await ready, pid: child.pid!, request, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
