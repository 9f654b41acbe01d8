import { createHash } from "node:crypto";
import type { Redis } from "ioredis";

const scriptShas = new Map<string, string>();

/**
 * Runs a Lua script by its SHA (EVALSHA), loading it with EVAL when Redis does not know it (first use,
 * or after a restart or SCRIPT FLUSH). Every key a script touches must be in `keys`, in one Cluster slot.
 */
export async function runScript(redis: Redis, source: string, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
  try {
    return await redis.evalsha(sha1(source), keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error && error.message.startsWith("NOSCRIPT"))) throw error;
    return await redis.eval(source, keys.length, ...keys, ...args);
  }
}

function sha1(source: string): string {
  let sha = scriptShas.get(source);
  if (sha === undefined) {
    sha = createHash("sha1").update(source).digest("hex");
    scriptShas.set(source, sha);
  }
  return sha;
}
