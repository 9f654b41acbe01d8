import { Command, type Redis } from "ioredis";
import { isCluster, type RedisConnection } from "./redis-connection.js";

/** One Redis command: its name, then its arguments. */
export type RedisCommand = [name: string, ...args: (string | number | Buffer)[]];

/** What EXEC answered, one entry per command: the command's error, or its reply. */
export type TransactionResults = [Error | null, unknown][];

/** Commands to run together in one MULTI/EXEC, in the order they were added. */
export class Transaction {
  readonly commands: RedisCommand[] = [];

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
 * Runs `transaction` in one MULTI/EXEC: every command, or none. Rejects with the reason Redis gave
 * when it refused a command while queueing (EXECABORT hides it), or with the connection's error;
 * resolves with EXEC's results, in which a command that failed inside the transaction is an entry.
 *
 * On one Redis the commands go out as plain commands between MULTI and EXEC, in one socket write
 * (corked), not through ioredis' Pipeline: every Pipeline defines an accessor of its own on itself,
 * which gives it a hidden class of its own that V8 keeps until a major collection, and with it the
 * pipeline and its commands. At a flush per few profiles, that made a fifth of ingest's young
 * allocations survive, and each scavenge copy them. On a Cluster ioredis routes a MULTI only as a
 * Pipeline (to the master of the slot, following redirections), and sends it again after its
 * connection closed unanswered, even where Redis ran it (docs/architecture.md).
 * @throws RedisNotReadyError on one Redis not connected, through a connection without an offline queue:
 *   nothing was sent
 */
export async function runTransaction(connection: RedisConnection, transaction: Transaction): Promise<TransactionResults> {
  if (isCluster(connection)) return unlessDiscarded(await connection.multi(transaction.commands).exec().catch(unwrapExecAbort));
  return runOnOneRedis(connection, transaction.commands);
}

async function runOnOneRedis(redis: Redis, commands: readonly RedisCommand[]): Promise<TransactionResults> {
  // Until the connection is ready, one without an offline queue refuses the commands (but MULTI and
  // EXEC, which Redis takes while loading, once connected): refuse them all here, before sending any.
  if (redis.status !== "ready" && !redis.options.enableOfflineQueue) throw new RedisNotReadyError(redis.status);
  // With one, they wait there in order and go out together; but connected, in its ready check,
  // ioredis would write MULTI and EXEC at once and queue what goes between.
  while (redis.status === "connect") await statusChange(redis);
  // When the connection closes, ioredis sends the commands Redis did not answer again on the next
  // one, but drops those of a Pipeline whose numbering does not start at 0 there. Numbered -1, every
  // unanswered command of the transaction is dropped (rejected with an AbortError): neither its
  // rest, which would run one by one outside any MULTI, nor all of it, which Redis may have run
  // already with only its reply lost, and would run twice. The flush then fails, and its undo takes
  // back what Redis did run. Replies as `redis.call` and `redis.exec` give them (UTF-8).
  const sent = [
    new Command("multi"),
    ...commands.map(([name, ...args]) => new Command(name, args, { replyEncoding: "utf8" })),
    new Command("exec", [], { replyEncoding: "utf8" }),
  ];
  for (const [index, command] of sent.entries()) {
    command.pipelineIndex = -1;
    command.inTransaction = index > 0 && index < sent.length - 1;
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
  if (refused !== undefined) throw refused.reason;
  if (results instanceof Error) throw results;
  return results;
}

/** Resolves when the connection is ready, closes or ends. */
function statusChange(redis: Redis): Promise<void> {
  return new Promise((resolve) => {
    const settle = () => {
      for (const event of ["ready", "close", "end"]) redis.off(event, settle);
      resolve();
    };
    for (const event of ["ready", "close", "end"]) redis.once(event, settle);
  });
}

/** EXEC's reply as `redis.exec()` gives it: per command its error, or null and its reply. */
function execResults(reply: unknown): TransactionResults {
  return unlessDiscarded(
    Array.isArray(reply) ? reply.map((item: unknown): [Error | null, unknown] => (item instanceof Error ? [item, undefined] : [null, item])) : null,
  );
}

function unlessDiscarded(results: TransactionResults | null): TransactionResults {
  // EXEC answers nil only when a WATCHed key changed; no transaction here watches any.
  if (results === null) throw new Error("the transaction was discarded");
  return results;
}

/** ioredis' Pipeline keeps the reason of a command refused while queueing aside; EXECABORT only says there was one. */
function unwrapExecAbort(error: unknown): never {
  throw (error as { previousErrors?: unknown[] }).previousErrors?.[0] ?? error;
}
