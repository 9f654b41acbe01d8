import { setTimeout as sleep } from "node:timers/promises";
import { Command, type Cluster, type Redis } from "ioredis";
import { masterAt, masterServing, refreshSlots, type ServingMaster } from "./cluster-masters.js";
import { isCluster, type RedisConnection } from "./redis-connection.js";

/** One Redis command: its name, then its arguments. */
export type RedisCommand = [name: string, ...args: (string | number | Buffer)[]];

/** What EXEC answered, one entry per command: the command's error, or its reply. */
export type TransactionResults = [Error | null, unknown][];

/** Commands to run together in one MULTI/EXEC, in the order they were added. */
export class Transaction {
  readonly commands: RedisCommand[] = [];
  /**
   * On a Redis Cluster, the master the transaction ran on, once it ran: where a WAIT for its
   * replicas must go (WAIT counts the writes of the connection it is sent on).
   */
  master: ServingMaster | undefined;

  add(...command: RedisCommand): this {
    this.commands.push(command);
    return this;
  }
}

/** The transaction was not sent: not connected to Redis, and the connection has no offline queue to wait in. */
export class RedisNotReadyError extends Error {
  override readonly name = "RedisNotReadyError";

  constructor(readonly status: string) {
    super(`Redis is not connected (connection ${status})`);
  }
}

/**
 * The transaction was not sent: a transaction on the connection timed out and none has succeeded
 * since, and the connection holds more than `MAX_UNSENT_BYTES` of earlier commands that Redis has not
 * read (frozen, or its host unreachable while the connection stays open). A command that timed out
 * stays in ioredis' queue with its arguments until Redis answers it; without this bound, each flush
 * that follows would add its payloads to the pile until the process runs out of memory. (A large
 * flush on its way to a Redis that reads is no reason: only a connection that timed out is held back.)
 */
export class RedisNotReadingError extends Error {
  override readonly name = "RedisNotReadingError";

  constructor(readonly unsentBytes: number) {
    super(`Redis is not reading its connection: ${unsentBytes} bytes of earlier commands wait to be sent`);
  }
}

/** Bytes of commands a stalled connection may hold unsent before a transaction is refused: two flushes of the default bounds. */
export const MAX_UNSENT_BYTES = 16 * 1024 * 1024;

/** Connections whose last transaction timed out, until one succeeds on them again. */
const stalled = new WeakSet<Redis>();

/** The commands of a transaction for a Redis Cluster touch no key, or keys of more than one hash slot. */
export class CrossSlotTransactionError extends Error {
  override readonly name = "CrossSlotTransactionError";
}

/** No master of the Redis Cluster is known to serve the transaction's slot, even after asking the cluster again. */
export class UnservedSlotError extends Error {
  override readonly name = "UnservedSlotError";

  constructor(readonly slot: number) {
    super(`no known master of the cluster serves slot ${slot}`);
  }
}

/** Times a transaction goes to a cluster's masters at most: redirected, or after the slot map was renewed (see `neverRan`). */
const ROUTING_ATTEMPTS = 3;

/**
 * A master importing a slot answers TRYAGAIN to a transaction of several keys some of which have not
 * arrived yet: it goes again to the same master after this long, this many times at most (a slot's
 * migration that ends meanwhile is ridden out; a longer one fails the flush, 503 and Retry-After).
 */
const TRYAGAIN_DELAY_MS = 100;
const TRYAGAIN_ATTEMPTS = 10;

/**
 * Runs `transaction` in one MULTI/EXEC: every command, or none. Rejects with the reason Redis gave
 * when it refused a command while queueing (EXECABORT hides it), or with the connection's error;
 * resolves with EXEC's results, in which a command that failed inside the transaction is an entry.
 *
 * The commands go out as plain commands between MULTI and EXEC, in one socket write (corked), not
 * through ioredis' Pipeline: every Pipeline defines an accessor of its own on itself, which gives it
 * a hidden class of its own that V8 keeps until a major collection, and with it the pipeline and its
 * commands (at a flush per few profiles, a fifth of ingest's young allocations survived, and each
 * scavenge copied them); and a Pipeline whose connection closed before any reply goes again on the
 * next, where Redis may have run it already (docs/architecture.md). On a Cluster they go on the
 * cluster client's connection to the master that serves their slot, and go again only where nothing
 * ran (`neverRan`): redirected, or after the client's slot map is renewed. `transaction.master` then
 * says where they ran.
 * @throws RedisNotReadingError the connection holds too much that Redis has not read: nothing was sent
 * @throws RedisNotReadyError not connected (one Redis: through a connection without an offline queue;
 *   a Cluster: not ready): nothing was sent
 * @throws CrossSlotTransactionError on a Cluster, for commands of no slot or of several: nothing was sent
 * @throws UnservedSlotError on a Cluster, when no known master serves the slot: nothing was sent
 */
export async function runTransaction(connection: RedisConnection, transaction: Transaction): Promise<TransactionResults> {
  if (isCluster(connection)) return runOnCluster(connection, transaction);
  return runOnOneRedis(connection, transaction.commands);
}

async function runOnCluster(cluster: Cluster, transaction: Transaction): Promise<TransactionResults> {
  if (cluster.status !== "ready") throw new RedisNotReadyError(cluster.status);
  const slot = slotOfCommands(transaction.commands);
  // Where an ASK sent it: the master importing the slot, for this transaction only.
  let asked: ServingMaster | undefined;
  let routed = 0;
  let waited = 0;
  for (;;) {
    const master = asked ?? masterServing(cluster, slot);
    try {
      if (master === undefined) throw new UnservedSlotError(slot);
      const results = await runOnOneRedis(master.connection, transaction.commands, asked !== undefined);
      transaction.master = master;
      return results;
    } catch (error) {
      if (!neverRan(error)) throw error;
      if (master !== undefined && (error as Error).message.startsWith("TRYAGAIN ")) {
        if (++waited > TRYAGAIN_ATTEMPTS) throw error;
        // The same master again (with ASKING if an ASK sent it there), once more of the slot arrived.
        await sleep(TRYAGAIN_DELAY_MS);
        continue;
      }
      if (++routed === ROUTING_ATTEMPTS) throw error;
      asked = askedTo(cluster, error);
      if (asked === undefined) await refreshSlots(cluster).catch(() => undefined);
    }
  }
}

/**
 * Whether `runTransaction` failed with nothing of the transaction run, now or later: refused before
 * it was sent, or (on a Cluster) sent and refused or dropped unrun. A timeout is not among them: the
 * transaction may run yet.
 */
export function transactionNotRun(error: unknown): boolean {
  return error instanceof RedisNotReadyError || error instanceof RedisNotReadingError || error instanceof CrossSlotTransactionError || neverRan(error);
}

/** Redis Cluster's refusals of a command while queueing, after which EXEC aborts: the transaction did not run. */
const REDIRECTIONS = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN) /;

/**
 * Whether a cluster transaction failed before Redis could run any of it, so that it may go again
 * where the slot is now: no known master; a redirection while queueing (EXEC then aborts, and a
 * redirection of EXEC itself discards the transaction); or the master's connection closed before
 * the commands left its offline queue (ioredis rejects those "Connection is closed.", and those it
 * had written, numbered -1, with an AbortError).
 */
function neverRan(error: unknown): boolean {
  if (error instanceof UnservedSlotError) return true;
  return error instanceof Error && error.name !== "AbortError" && (REDIRECTIONS.test(error.message) || error.message === "Connection is closed.");
}

/** The master an ASK redirection names (a slot on its way there), if the client has a connection to it. */
function askedTo(cluster: Cluster, error: unknown): ServingMaster | undefined {
  const address = /^ASK \d+ (\S+)$/.exec((error as Error).message)?.[1];
  return address === undefined ? undefined : masterAt(cluster, address);
}

function slotOfCommands(commands: readonly RedisCommand[]): number {
  const slots = new Set(commands.map(([name, ...args]) => new Command(name, args).getSlot()).filter((slot) => slot !== null));
  if (slots.size !== 1) throw new CrossSlotTransactionError(`a transaction on a Redis Cluster must touch the keys of one hash slot, not ${slots.size}`);
  return slots.values().next().value!;
}

/** `asking`: ASKING first, so that the master importing a slot takes the transaction's keys. */
async function runOnOneRedis(redis: Redis, commands: readonly RedisCommand[], asking = false): Promise<TransactionResults> {
  // Until the connection is ready, one without an offline queue refuses the commands (but MULTI and
  // EXEC, which Redis takes while loading, once connected): refuse them all here, before sending any.
  if (redis.status !== "ready" && !redis.options.enableOfflineQueue) throw new RedisNotReadyError(redis.status);
  // With one, they wait there in order and go out together; but connected, in its ready check,
  // ioredis would write MULTI and EXEC at once and queue what goes between. The ready check lasts
  // while Redis loads its data: no longer than a command may take (a flush holds the next ones).
  const deadline = Date.now() + (redis.options.commandTimeout ?? Number.POSITIVE_INFINITY);
  while (redis.status === "connect") {
    if (Date.now() >= deadline) throw new RedisNotReadyError(redis.status);
    await statusChange(redis, deadline - Date.now());
  }
  const unsent = redis.status === "ready" && stalled.has(redis) ? redis.stream.writableLength : 0;
  if (unsent > MAX_UNSENT_BYTES) throw new RedisNotReadingError(unsent);
  // When the connection closes, ioredis sends the commands Redis did not answer again on the next
  // one, but drops those of a Pipeline whose numbering does not start at 0 there. Numbered -1, every
  // unanswered command of the transaction is dropped (rejected with an AbortError): neither its
  // rest, which would run one by one outside any MULTI, nor all of it, which Redis may have run
  // already with only its reply lost, and would run twice. The flush then fails, and its undo takes
  // back what Redis did run. Replies as `redis.call` and `redis.exec` give them (UTF-8).
  const sent = [
    ...(asking ? [new Command("asking")] : []),
    new Command("multi"),
    ...commands.map(([name, ...args]) => new Command(name, args, { replyEncoding: "utf8" })),
    new Command("exec", [], { replyEncoding: "utf8" }),
  ];
  for (const [index, command] of sent.entries()) {
    command.pipelineIndex = -1;
    command.inTransaction = index > (asking ? 1 : 0) && index < sent.length - 1;
  }
  const exec = sent.at(-1)!;
  const stream = redis.status === "ready" ? redis.stream : undefined;
  stream?.cork();
  try {
    for (const command of sent) void redis.sendCommand(command);
  } finally {
    stream?.uncork();
  }
  const [answers, results] = await Promise.all([
    Promise.allSettled(sent.slice(0, -1).map((command) => command.promise)),
    exec.promise.then(execResults, (error: unknown) => error as Error),
  ]);
  const refused = answers.find((answer) => answer.status === "rejected");
  const failure = refused === undefined ? (results instanceof Error ? results : undefined) : (refused.reason as Error);
  if (failure === undefined) {
    stalled.delete(redis);
    return results as TransactionResults;
  }
  if (failure.message === COMMAND_TIMED_OUT) stalled.add(redis);
  throw failure;
}

/** ioredis' error for a command that `commandTimeout` gave up on (it stays queued for Redis' answer). */
const COMMAND_TIMED_OUT = "Command timed out";

/** Resolves when the connection is ready, closes or ends, or after `timeoutMs`. */
function statusChange(redis: Redis, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = Number.isFinite(timeoutMs) ? setTimeout(() => settle(), timeoutMs) : undefined;
    const settle = () => {
      clearTimeout(timer);
      for (const event of ["ready", "close", "end"]) redis.off(event, settle);
      resolve();
    };
    for (const event of ["ready", "close", "end"]) redis.once(event, settle);
  });
}

/** EXEC's reply as `redis.exec()` gives it: per command its error, or null and its reply. */
function execResults(reply: unknown): TransactionResults {
  // EXEC answers nil only when a WATCHed key changed; no transaction here watches any.
  if (!Array.isArray(reply)) throw new Error("the transaction was discarded");
  return reply.map((item: unknown): [Error | null, unknown] => (item instanceof Error ? [item, undefined] : [null, item]));
}
