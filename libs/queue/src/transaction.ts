import type { Redis } from "ioredis";
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
 */
export async function runTransaction(connection: RedisConnection, transaction: Transaction): Promise<TransactionResults> {
  if (isCluster(connection)) return checked(await connection.multi(transaction.commands).exec().catch(unwrapExecAbort));
  return runOnOneRedis(connection, transaction.commands);
}

async function runOnOneRedis(redis: Redis, commands: readonly RedisCommand[]): Promise<TransactionResults> {
  // No socket before the first connection (and none written to until ready): the commands then
  // fail fast on their own, as every command of a `producer` connection does.
  const stream = redis.status === "ready" ? redis.stream : undefined;
  stream?.cork();
  let queued: Promise<unknown>[];
  let exec: Promise<TransactionResults | null>;
  try {
    queued = [redis.multi({ pipeline: false }), ...commands.map(([name, ...args]) => redis.call(name, ...args))];
    exec = redis.exec();
  } finally {
    stream?.uncork();
  }
  const [answers, results] = await Promise.all([Promise.allSettled(queued), exec.then(checked, (error: unknown) => error as Error)]);
  const refused = answers.find((answer) => answer.status === "rejected");
  if (refused !== undefined) throw refused.reason;
  if (results instanceof Error) throw results;
  return results;
}

function checked(results: TransactionResults | null): TransactionResults {
  // EXEC answers nil only when a WATCHed key changed; no transaction here watches any.
  if (results === null) throw new Error("the transaction was discarded");
  return results;
}

/** ioredis' Pipeline keeps the reason of a command refused while queueing aside; EXECABORT only says there was one. */
function unwrapExecAbort(error: unknown): never {
  throw (error as { previousErrors?: unknown[] }).previousErrors?.[0] ?? error;
}
