import { QueueShardsMismatchError } from "./errors.js";
import { queueShardsKey } from "./keys.js";
import { LuaScript } from "./lua-script.js";
import type { RedisConnection } from "./redis-connection.js";

// KEYS: the record. ARGV: this process' shard count; 1 to record it where none is and raise a smaller
// record to it, 0 to change nothing. Never lowers the record, in one step, so that processes starting
// together cannot undo each other's. Returns the record as it was (0: none).
const record = new LuaScript(
  "queue_shards_record",
  `
local value = redis.call('GET', KEYS[1])
if not value then
  if ARGV[2] == '1' then redis.call('SET', KEYS[1], ARGV[1]) end
  return 0
end
local recorded = tonumber(value)
if recorded == nil or recorded < 1 or recorded % 1 ~= 0 then
  return redis.error_reply('ERR ' .. KEYS[1] .. ' holds "' .. value .. '", not a queue shard count')
end
if ARGV[2] == '1' and recorded < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1])
end
return recorded
`,
);

export interface QueueShardsRecord {
  /** The count recorded before; undefined when none was. */
  before: number | undefined;
  /** The count recorded now; undefined when none is (an operator command's check where none was). */
  recorded: number | undefined;
}

export interface RecordQueueShardsOptions {
  /**
   * Record this process' count where none is and raise a smaller record to it (run, ingest, writer);
   * operator commands only check it: they write nothing (a read-only user runs them), and a count given
   * to one by mistake must not become the deployment's.
   */
  raise: boolean;
}

/**
 * At a process' start: checks its `--target.queue-shards` against the count the deployment's processes
 * recorded under the prefix. None recorded: records this one (if asked to raise). A larger one: throws a
 * QueueShardsMismatchError, since the process would miss the batches of the shards beyond its own. A
 * smaller one: raises it to this one if asked (raising is safe: shard 0 of N is the one queue of 1, and
 * batches stay on the shard they are on), else leaves it.
 */
export async function recordQueueShards(
  connection: RedisConnection,
  prefix: string,
  shards: number,
  { raise }: RecordQueueShardsOptions,
): Promise<QueueShardsRecord> {
  record.define(connection);
  const before = Number(await record.run(connection, [queueShardsKey(prefix)], [shards, raise ? 1 : 0]));
  if (before > shards) throw new QueueShardsMismatchError(prefix, before, shards);
  if (before === 0) return { before: undefined, recorded: raise ? shards : undefined };
  return { before, recorded: raise ? shards : before };
}

/** The count recorded under the prefix; undefined when none is (a new deployment, or the record deleted to lower it). */
export async function readQueueShards(connection: RedisConnection, prefix: string): Promise<number | undefined> {
  const key = queueShardsKey(prefix);
  const value = await connection.get(key);
  if (value === null) return undefined;
  const recorded = Number(value);
  if (!Number.isInteger(recorded) || recorded < 1) throw new Error(`${key} holds "${value}", not a queue shard count`);
  return recorded;
}

/**
 * Records `shards` where no count is recorded (Redis restarted without its data, or the key evicted or
 * lost in a failover), so that a process started later with fewer shards is still refused; a record
 * there, even a smaller one an operator set to lower the count, is left as it is.
 */
export async function restoreQueueShards(connection: RedisConnection, prefix: string, shards: number): Promise<boolean> {
  return (await connection.set(queueShardsKey(prefix), String(shards), "NX")) === "OK";
}
