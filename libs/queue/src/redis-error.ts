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
 * Redis' error replies for a state it gets out of, or an operator gets it out of, with nothing
 * else changed: loading, a replica, a failover, a busy script, out of memory, too few replicas, a
 * failing snapshot, an ACL or a password to set right.
 */
const PASSING_REPLIES = /^(LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY|OOM|NOREPLICAS|MISCONF|NOPERM|NOAUTH|WRONGPASS) /;

/**
 * Whether `error` is a Redis outage (an error reply for a state that passes: LOADING, READONLY, OOM,
 * CLUSTERDOWN, NOPERM...; or the client's for a Redis it cannot reach: a closed connection, a command
 * timed out, no cluster node answering): an error of the queue's storage, never of a target. An
 * error reply that the same command would get again (ERR, a script's error, WRONGTYPE, CROSSSLOT) is
 * not one: retried for ever, it would never end.
 */
export function isRedisError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof ReplyError) return PASSING_REPLIES.test(error.message);
  if (CLIENT_ERROR_NAMES.has(error.name)) return true;
  return CLIENT_FAILURES.some((failure) => error.message.startsWith(failure));
}
