/** Anything that answers INFO: an ioredis client of any role. */
export interface InfoSource {
  info(section: string): Promise<string>;
}

/** How many times Redis has served `command` (lower case, e.g. `mget`), from INFO commandstats. */
export async function commandCalls(redis: InfoSource, command: string): Promise<number> {
  const stats = await redis.info("commandstats");
  return Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, "m").exec(stats)?.[1] ?? 0);
}
