import { ReplyError } from "ioredis";

/** ioredis' own errors (by name) for a Redis it cannot read or reach: they extend no class it exports. */
const CLIENT_ERROR_NAMES = new Set(["ParserError", "MaxRetriesPerRequestError", "ClusterAllFailedError"]);

/** ioredis' plain errors for a command it could not get answered. */
const CLIENT_FAILURES = [
  "Connection is closed.",
  "Command timed out",
  "Stream isn't writeable and enableOfflineQueue options is false",
  "Cluster isn't ready and enableOfflineQueue options is false",
  "None of startup nodes is available",
  "Too many Cluster redirections",
];

/**
 * Whether `error` is Redis' (an error reply: LOADING, READONLY, OOM, CLUSTERDOWN, NOPERM, a key of the
 * wrong type...) or the client's for a Redis it cannot reach (a closed connection, a command timed out,
 * no cluster node answering): an error of the queue's storage, never of a target.
 */
export function isRedisError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof ReplyError || CLIENT_ERROR_NAMES.has(error.name)) return true;
  return CLIENT_FAILURES.some((failure) => error.message.startsWith(failure));
}
