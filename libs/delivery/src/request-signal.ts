/** The requests in flight under each long-lived signal, aborted with it. */
const inFlight = new WeakMap<AbortSignal, Set<AbortController>>();

/**
 * Runs one request's `work` with a signal of its own, aborted with `parent`'s reason when `parent` is
 * (the writer's shutdown). `parent` gets one abort listener, however many requests run under it.
 *
 * Why: undici adds an abort listener to a request's signal and removes it when the request ends, and
 * Node's EventTarget leaves a removed listener pointing at the next one. Once a listener of a
 * long-lived signal has reached the old generation, it keeps the next request's listener, and with it
 * that request's objects, through young-generation collections until they reach the old generation
 * too, and so on: a loop of requests under one signal promoted ten times the bytes, and spent three
 * times as long in scavenges, as with a signal per request (docs/performance.md, "A signal per request, undici 7, requests built in turn").
 */
export async function withRequestSignal<T>(parent: AbortSignal, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  if (parent.aborted) {
    controller.abort(parent.reason);
    return work(controller.signal);
  }
  const requests = inFlight.get(parent) ?? watch(parent);
  requests.add(controller);
  try {
    return await work(controller.signal);
  } finally {
    requests.delete(controller);
  }
}

function watch(parent: AbortSignal): Set<AbortController> {
  const requests = new Set<AbortController>();
  inFlight.set(parent, requests);
  parent.addEventListener(
    "abort",
    () => {
      for (const controller of requests) controller.abort(parent.reason);
    },
    { once: true },
  );
  return requests;
}
