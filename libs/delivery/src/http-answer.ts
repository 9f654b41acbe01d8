import type { Dispatcher } from "undici";

/**
 * How much of a body is read off to keep its connection: beyond it the answer is taken as it is and
 * the request aborted (an HTTP/1.1 connection closed, an HTTP/2 stream reset), as undici's `dump`
 * does by default, so that an endless body holds no delivery.
 */
const readOffBytes = 128 * 1024;

/** An answer read to its end: its status, its headers, and the start of its body as text. */
export interface HttpAnswer {
  statusCode: number;
  headers: Dispatcher.ResponseData["headers"];
  bodyStart: string;
  /** The body went on past `bodyStart`: it was cut at the limit kept. */
  bodyCut: boolean;
}

/**
 * Reads one answer through undici's dispatch API, keeping at most `bodyStartBytes` of its body and
 * reading the rest off (up to `readOffBytes`), so that its connection carries the next request.
 * For deliveries, whose answers the writer only classifies: `Dispatcher.request` wraps every answer
 * in a stream and an async resource, and without them the writer spends about a tenth less CPU per
 * profile (docs/performance.md, "Answers read without a stream").
 * `signal`, the request's own, aborts it, as undici's `request` does with its signal.
 */
export class AnswerReader implements Dispatcher.DispatchHandler {
  readonly answer: Promise<HttpAnswer>;
  private settle!: { resolve: (answer: HttpAnswer) => void; reject: (error: unknown) => void };
  private controller: Dispatcher.DispatchController | undefined;
  private status = 0;
  private headers: Dispatcher.ResponseData["headers"] = {};
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(
    private readonly bodyStartBytes: number,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.answer = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.signal?.aborted) controller.abort(this.signal.reason);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, status: number, headers: Dispatcher.ResponseData["headers"]): void {
    // An informational answer (1xx) is followed by the real one.
    if (status < 200) return;
    this.status = status;
    this.headers = headers;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (controller.aborted) return;
    if (this.size < this.bodyStartBytes) this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size > readOffBytes) {
      this.finish();
      controller.abort(new Error("answer body too long to read off"));
    }
  }

  onResponseEnd(): void {
    this.finish();
  }

  /**
   * Before an answer's status, an error fails the request. After it, the status is the answer,
   * whatever happens to the body (reset, timeout, abort, or the cut above): a 200 was accepted.
   */
  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.status !== 0) {
      this.finish();
      return;
    }
    this.done();
    this.settle.reject(error);
  }

  /** Settles the answer with what was read of its body; a second call changes nothing. */
  private finish(): void {
    this.done();
    const body = this.chunks.length === 0 ? "" : Buffer.concat(this.chunks).subarray(0, this.bodyStartBytes).toString("utf8");
    this.settle.resolve({ statusCode: this.status, headers: this.headers, bodyStart: body, bodyCut: this.size > this.bodyStartBytes });
  }

  // Before the request has a controller (it waits for a connection), the abort waits for one, as in
  // undici's own `request`.
  private readonly onAbort = (): void => this.controller?.abort(this.signal?.reason);

  private done(): void {
    this.signal?.removeEventListener("abort", this.onAbort);
  }
}
