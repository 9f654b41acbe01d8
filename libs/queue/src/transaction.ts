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

/** The transaction was not sent: the connection to Redis is not ready (connecting, reconnecting, closed). */
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
 * Pipeline (to the master of the slot, following redirections).
 * @throws RedisNotReadyError on one Redis whose connection is not ready: nothing was sent
 */
export async function runTransaction(connection: RedisConnection, transaction: Transaction): Promise<TransactionResults> {
  if (isCluster(connection)) return unlessDiscarded(await connection.multi(transaction.commands).exec().catch(unwrapExecAbort));
  return runOnOneRedis(connection, transaction.commands);
}

async function runOnOneRedis(redis: Redis, commands: readonly RedisCommand[]): Promise<TransactionResults> {
  // Before the connection is ready ioredis writes MULTI and EXEC at once (Redis takes them while
  // loading) but queues or refuses the commands between: the transaction would not be one.
  if (redis.status !== "ready") throw new RedisNotReadyError(redis.status);
  // Numbered as ioredis numbers a Pipeline's commands: when the connection closes after Redis
  // answered part of them, ioredis drops the rest instead of sending them again on the next
  // connection, where they would run one by one outside any MULTI; an unanswered MULTI goes again
  // whole. Replies as `redis.call` and `redis.exec` give them (UTF-8).
  const sent = [
    new Command("multi"),
    ...commands.map(([name, ...args]) => new Command(name, args, { replyEncoding: "utf8" })),
    new Command("exec", [], { replyEncoding: "utf8" }),
  ];
  for (const [index, command] of sent.entries()) {
    command.pipelineIndex = index;
    command.inTransaction = index > 0 && index < sent.length - 1;
  }
  const exec = sent.at(-1)!;
  redis.stream.cork();
  try {
    for (const command of sent) void redis.sendCommand(command);
  } finally {
    redis.stream.uncork();
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
