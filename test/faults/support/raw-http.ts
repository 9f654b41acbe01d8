import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import type { Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

export interface SimpleResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One request on a connection of its own, closed afterwards (no keep-alive pool): connection counts
 * on the relay stay exact, which the conn_limit test needs. Rejects when no answer comes.
 */
export function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer | string; timeoutMs?: number } = {},
): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? "POST", headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.once("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.once("error", reject);
    });
    req.setTimeout(options.timeoutMs ?? 10_000, () => req.destroy(new Error("no answer in time")));
    req.once("error", reject);
    req.end(options.body);
  });
}

export interface RawExchange {
  /** Everything the server sent before the connection closed. */
  response: string;
  /** From connecting until the server closed the connection (or the deadline passed). */
  closedAfterMs: number;
  closedByServer: boolean;
}

/**
 * Writes `head` on a raw TCP connection, then `drip` chunks every `dripEveryMs` (as a slow client
 * would), then either half-closes (`end`) or keeps the connection open, and waits for the server
 * to close it, at most `deadlineMs`.
 */
export async function rawExchange(
  port: number,
  head: string | Buffer,
  options: { drip?: Buffer[]; dripEveryMs?: number; end?: boolean; deadlineMs: number },
): Promise<RawExchange> {
  const socket = connect(port, "127.0.0.1");
  const started = Date.now();
  let response = "";
  let closed = false;
  socket.on("data", (chunk: Buffer) => (response += chunk.toString()));
  socket.on("error", () => undefined);
  const closing = new Promise<void>((resolve) =>
    socket.once("close", () => {
      closed = true;
      resolve();
    }),
  );
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  socket.write(head);
  for (const chunk of options.drip ?? []) {
    if (closed) break;
    await sleep(options.dripEveryMs ?? 0);
    if (!closed) socket.write(chunk);
  }
  if (options.end && !closed) socket.end();
  const remaining = Math.max(0, options.deadlineMs - (Date.now() - started));
  await Promise.race([closing, sleep(remaining)]);
  const closedAfterMs = Date.now() - started;
  const closedByServer = closed;
  socket.destroy();
  return { response, closedAfterMs, closedByServer };
}

/** Opens a TCP connection that sends nothing; resolves once connected. */
export async function idleConnection(port: number): Promise<{ socket: Socket; closed: () => boolean }> {
  const socket = connect(port, "127.0.0.1");
  let closed = false;
  socket.on("error", () => undefined);
  socket.once("close", () => (closed = true));
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  return { socket, closed: () => closed };
}
