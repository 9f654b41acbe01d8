import { once } from "node:events";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** One request as the fake Pyroscope received it, body read to the end. */
export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  /** Raw query string, without the leading `?` ("" when there is none). */
  query: string;
  headers: IncomingHttpHeaders;
  /** Header names and values as sent, case preserved, repeated headers kept. */
  rawHeaders: string[];
  body: Buffer;
  /** `Date.now()` when the body had been read. */
  at: number;
}

export interface FakeResponse {
  status: number;
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer;
}

/** Decides the answer to a request; `undefined` falls through to the default 200. */
export type ResponseRule = (request: RecordedRequest) => FakeResponse | undefined;

export interface FakeTarget {
  /** Base URL, e.g. `http://127.0.0.1:41234`, to use as a target's endpoint `url`. */
  url: string;
  /** Every request received, in arrival order. */
  requests: RecordedRequest[];
  /** Install a custom rule (replacing the previous one); `undefined` removes it. */
  respond(rule: ResponseRule | undefined): void;
  /** The next `count` requests get `status` (before any custom rule). */
  failNext(count: number, status: number, options?: { body?: string | Buffer; headers?: OutgoingHttpHeaders }): void;
  /** Keep answers back (requests are still recorded) until `release()`. */
  hold(): void;
  /** Send every held answer and stop holding. */
  release(): void;
  /** Send the oldest held answer, and keep holding the others. */
  releaseOne(): void;
  /** Resolves with the requests once at least `count` have arrived; rejects after `timeoutMs`. */
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  close(): Promise<void>;
}

/** The request never reached `count` in time: the message says how many did arrive. */
export class FakeTargetTimeoutError extends Error {
  override name = "FakeTargetTimeoutError";
}

const PUSH_PATH = "/push.v1.PusherService/Push";

/** Starts an HTTP stand-in for a Pyroscope server on 127.0.0.1 with an ephemeral port. */
export async function startFakeTarget(): Promise<FakeTarget> {
  const requests: RecordedRequest[] = [];
  const failures: FakeResponse[] = [];
  const held: (() => void)[] = [];
  const waiters = new Set<() => void>();
  let rule: ResponseRule | undefined;
  let holding = false;

  const server = createServer((req, res) => {
    readBody(req).then(
      (body) => {
        const recorded = record(req, body);
        requests.push(recorded);
        for (const wake of waiters) wake();
        const answer = failures.shift() ?? rule?.(recorded) ?? defaultResponse(recorded);
        const send = () => writeResponse(res, answer);
        if (holding) held.push(send);
        else send();
      },
      // The client went away mid-body: nothing was delivered, nothing to record.
      () => res.destroy(),
    );
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    respond(next) {
      rule = next;
    },
    failNext(count, status, options = {}) {
      for (let i = 0; i < count; i++) failures.push({ status, ...options });
    },
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      for (const send of held.splice(0)) send();
    },
    releaseOne() {
      held.shift()?.();
    },
    waitForRequests(count, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (requests.length < count) return;
          cleanup();
          resolve(requests.slice());
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new FakeTargetTimeoutError(`expected ${count} request(s) within ${timeoutMs} ms, got ${requests.length}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async close() {
      held.length = 0;
      const closed = once(server, "close");
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.once("end", () => resolve(Buffer.concat(chunks)));
    req.once("error", reject);
    req.once("close", () => {
      if (!req.complete) reject(new Error("request aborted"));
    });
  });
}

function record(req: IncomingMessage, body: Buffer): RecordedRequest {
  const target = req.url ?? "/";
  const q = target.indexOf("?");
  return {
    method: req.method ?? "",
    path: q === -1 ? target : target.slice(0, q),
    query: q === -1 ? "" : target.slice(q + 1),
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    body,
    at: Date.now(),
  };
}

/** What a healthy Pyroscope answers (under any base path): Push replies in the codec of the request, /ingest with an empty 200. */
function defaultResponse(request: RecordedRequest): FakeResponse {
  if (!request.path.endsWith(PUSH_PATH)) return { status: 200 };
  return request.headers["content-type"]?.startsWith("application/json")
    ? { status: 200, headers: { "content-type": "application/json" }, body: "{}" }
    : { status: 200, headers: { "content-type": "application/proto" } };
}

function writeResponse(res: ServerResponse, answer: FakeResponse): void {
  if (res.destroyed) return;
  res.writeHead(answer.status, answer.headers);
  res.end(answer.body);
}
