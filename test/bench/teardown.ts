/**
 * Every process the bench started and has not stopped yet, so that an error or Ctrl-C stops them
 * all: a relay, Redis or wrk left behind would skew the next run on this machine.
 */
const running = new Set<() => Promise<void>>();
let stopping = false;

/**
 * Registers `stop`; the returned function runs it once, and every caller (the phase that is done
 * with it, `stopAll` on Ctrl-C) waits for that one run to end.
 */
export function track(stop: () => Promise<unknown>): () => Promise<void> {
  let stopped: Promise<void> | undefined;
  const once = (): Promise<void> => {
    stopped ??= stop().then(
      () => void running.delete(once),
      (error: unknown) => {
        running.delete(once);
        throw error;
      },
    );
    return stopped;
  };
  running.add(once);
  // Started while Ctrl-C was being handled: nothing would stop it later.
  if (stopping) void once().catch(() => undefined);
  return once;
}

/** Stops everything still running, newest first (writer before ingest before Redis). */
export async function stopAll(): Promise<void> {
  stopping = true;
  for (const stop of [...running].reverse()) {
    await stop().catch((error: unknown) => console.error(`bench: teardown: ${(error as Error).message}`));
  }
}
