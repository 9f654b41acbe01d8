import { createContextKey } from "@connectrpc/connect";

/**
 * Whether the request was answered already (its read deadline passed, answered 408): an RPC's body
 * that is complete only after that is not the client's to store. On HTTP/1.1 the handler's signal
 * says so too; an HTTP/2 stream lingers open after the answer, and its signal is not aborted.
 */
export const answeredKey = createContextKey<() => boolean>(() => false, { description: "whether the request was answered already" });
