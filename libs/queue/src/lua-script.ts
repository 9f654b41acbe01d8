import type { RedisConnection } from "./redis-connection.js";

type ScriptCaller = (numberOfKeys: number, ...keysAndArgs: (string | number | Buffer)[]) => Promise<unknown>;

/**
 * A Lua script registered on a connection with ioredis' `defineCommand`: ioredis sends EVAL with the
 * source the first time on each socket (a new connection, or one to a restarted Redis) and EVALSHA
 * after, retrying with EVAL when Redis lost its scripts. Every key a script touches must be passed in
 * `keys`, all in one Cluster slot.
 */
export class LuaScript {
  private readonly command: string;

  constructor(
    name: string,
    private readonly source: string,
  ) {
    this.command = `relay_${name}`;
  }

  /** Registers the script on `connection`. */
  define(connection: RedisConnection): void {
    const caller = (connection as unknown as Record<string, unknown>)[this.command];
    if (typeof caller !== "function") connection.defineCommand(this.command, { lua: this.source });
  }

  /** Runs the script on a connection it was defined on. */
  run(connection: RedisConnection, keys: readonly string[], args: readonly (string | number | Buffer)[] = []): Promise<unknown> {
    return this.caller(connection).call(connection, keys.length, ...keys, ...args);
  }

  private caller(target: RedisConnection): ScriptCaller {
    const caller = (target as unknown as Record<string, ScriptCaller | undefined>)[this.command];
    if (caller === undefined) throw new Error(`Lua script ${this.command} is not defined on this connection`);
    return caller;
  }
}
