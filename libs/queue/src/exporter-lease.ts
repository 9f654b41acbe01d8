import { randomUUID } from "node:crypto";
import { exporterLeaseKey } from "./keys.js";
import { LuaScript } from "./lua-script.js";
import type { RedisConnection } from "./redis-connection.js";

// KEYS: the lease. ARGV: holder, TTL (ms). Renews the lease of its holder, or takes a free one. 1 when held.
const hold = new LuaScript(
  "exporter_lease_hold",
  `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`,
);

// KEYS: the lease. ARGV: holder. Lets go of it if it is still the holder's.
const release = new LuaScript(
  "exporter_lease_release",
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`,
);

/** Lease TTL before a holder has seen two scrapes: twice Prometheus' default scrape interval. */
const FIRST_TTL_MS = 120_000;
const MIN_TTL_MS = 15_000;
const MAX_TTL_MS = 600_000;

/**
 * Which one process of a deployment exports the figures read from Redis (the queue state), so that
 * sums over every scraped process count them once. A process tries to hold the lease at each of its
 * scrapes: it takes it when free and renews it while it holds it; the others export none of those
 * figures. The TTL is three of the longest of the holder's intervals between scrapes in the last
 * 10 minutes (within 15 s and 10 min): a holder that stops being scraped or dies hands over within
 * that, and one scraped on time never loses it, even when two Prometheus servers (or a `curl`)
 * scrape it a few seconds apart.
 */
export class ExporterLease {
  private readonly key: string;
  private lastScrape: number | undefined;
  /**
   * The longest interval between this process' scrapes in each minute of the last MAX_TTL_MS, by
   * minute: a few entries however often it is scraped.
   */
  private readonly longestByMinute = new Map<number, number>();

  constructor(
    private readonly connection: RedisConnection,
    prefix: string,
    private readonly holder: string = randomUUID(),
  ) {
    this.key = exporterLeaseKey(prefix);
    for (const script of [hold, release]) script.define(connection);
  }

  /** At a scrape: whether this process holds the lease (taken or renewed now). */
  async hold(now = Date.now()): Promise<boolean> {
    const minute = Math.floor(now / 60_000);
    if (this.lastScrape !== undefined) {
      const interval = now - this.lastScrape;
      this.longestByMinute.set(minute, Math.max(this.longestByMinute.get(minute) ?? 0, interval));
    }
    this.lastScrape = now;
    let longest: number | undefined;
    for (const [start, interval] of this.longestByMinute) {
      if (start < minute - MAX_TTL_MS / 60_000) this.longestByMinute.delete(start);
      else longest = Math.max(longest ?? 0, interval);
    }
    const ttl = longest === undefined ? FIRST_TTL_MS : Math.min(MAX_TTL_MS, Math.max(MIN_TTL_MS, 3 * longest));
    return (await hold.run(this.connection, [this.key], [this.holder, Math.round(ttl)])) === 1;
  }

  /** At shutdown: another process takes over at its next scrape instead of after the TTL. */
  async release(): Promise<void> {
    await release.run(this.connection, [this.key], [this.holder]);
  }
}
