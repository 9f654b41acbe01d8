import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { describe, it } from "node:test";
import { withRequestSignal } from "./request-signal.js";

/** Work that waits until released, reporting the signal it was given. */
function pending(): { work: (signal: AbortSignal) => Promise<AbortSignal>; release(): void } {
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  const work = async (signal: AbortSignal) => {
    await released;
    return signal;
  };
  return { work, release };
}

describe("withRequestSignal", () => {
  it("aborts the signal of every request in flight when the parent aborts, with the parent's reason", async () => {
    const parent = new AbortController();
    const signals: AbortSignal[] = [];
    const runs = Array.from({ length: 3 }, () =>
      withRequestSignal(parent.signal, (signal) => {
        signals.push(signal);
        return new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()));
      }),
    );
    assert.equal(signals.length, 3);
    assert.ok(signals.every((signal) => !signal.aborted && signal !== parent.signal));
    const reason = new Error("shutting down");
    parent.abort(reason);
    await Promise.all(runs);
    assert.ok(signals.every((signal) => signal.reason === reason));
  });

  it("gives an aborted signal under a parent aborted already", async () => {
    const parent = new AbortController();
    parent.abort(new Error("gone"));
    const signal = await withRequestSignal(parent.signal, async (s) => s);
    assert.equal(signal.aborted, true);
    assert.equal(signal.reason, parent.signal.reason);
  });

  it("leaves the signal of a finished request alone", async () => {
    const parent = new AbortController();
    const done = await withRequestSignal(parent.signal, async (signal) => signal);
    const running = pending();
    const run = withRequestSignal(parent.signal, running.work);
    parent.abort();
    running.release();
    assert.equal((await run).aborted, true);
    assert.equal(done.aborted, false);
  });

  it("adds one listener to the parent however many requests run under it", async () => {
    const parent = new AbortController();
    const concurrent = Array.from({ length: 10 }, () => pending());
    const runs = concurrent.map(({ work }) => withRequestSignal(parent.signal, work));
    for (let i = 0; i < 100; i++) await withRequestSignal(parent.signal, async () => undefined);
    assert.equal(getEventListeners(parent.signal, "abort").length, 1);
    for (const { release } of concurrent) release();
    await Promise.all(runs);
    assert.equal(getEventListeners(parent.signal, "abort").length, 1);
  });

  it("passes on what the work returns or throws", async () => {
    const parent = new AbortController();
    assert.equal(await withRequestSignal(parent.signal, async () => 42), 42);
    await assert.rejects(
      withRequestSignal(parent.signal, async () => {
        throw new Error("refused");
      }),
      /refused/,
    );
  });
});
