import type { BatchJob } from "./batch-job.js";
import { scanFailedJobs, type FailedJob, type FailedJobScan } from "./failed-job-scan.js";
import { JobLifecycle } from "./job-lifecycle.js";
import type { RedisConnection } from "./redis-connection.js";

export interface TargetLifecyclesOptions {
  connection: RedisConnection;
  prefix: string;
  target: string;
  /** The target's queue shards (`--target.queue-shards`), 1 by default. */
  shards?: number;
}

const defaultPageSize = 100;

/**
 * A target as operators see it: one set of failed batches, however many queue shards hold them. Each
 * job's changes go through the lifecycle of its own shard.
 */
export class TargetLifecycles {
  readonly shards: readonly JobLifecycle[];
  private readonly byQueue: Map<string, JobLifecycle>;

  constructor(private readonly options: TargetLifecyclesOptions) {
    const { connection, prefix, target } = options;
    this.shards = Array.from({ length: options.shards ?? 1 }, (_, shard) => new JobLifecycle({ connection, prefix, target, shard }));
    this.byQueue = new Map(this.shards.map((lifecycle) => [lifecycle.queue.name, lifecycle]));
  }

  get target(): string {
    return this.options.target;
  }

  /** The lifecycle of the shard `job` belongs to. */
  of(job: BatchJob): JobLifecycle {
    const lifecycle = this.byQueue.get(job.queueName);
    if (lifecycle === undefined) throw new Error(`job ${job.id} of queue ${job.queueName} is not one of target ${this.target}'s`);
    return lifecycle;
  }

  /**
   * Failed batches of every shard whose failure time is within `[min, max]` (Redis score bounds): as
   * `failed` lists them. A drain job BullMQ failed shares the `failed` set but is no batch until a
   * writer found it unreadable (see `scanFailedJobs`), so it is not counted: retention would otherwise
   * remove a batch too many for each.
   */
  async countFailed(min: number | string = "-inf", max: number | string = "+inf"): Promise<number> {
    const counts = await Promise.all(
      this.shards.map(async (lifecycle) => {
        const [all, drains] = await Promise.all([this.options.connection.zcount(lifecycle.queue.toKey("failed"), min, max), lifecycle.failedDrains()]);
        return all - drains.filter(({ failedAt, unreadable }) => !unreadable && withinScores(failedAt, min, max)).length;
      }),
    );
    return counts.reduce((sum, count) => sum + count, 0);
  }

  /** Pages through the failed batches of every shard together, oldest first (see `scanFailedJobs`). */
  async *failed(scan: FailedJobScan = {}): AsyncGenerator<FailedJob[]> {
    const pageSize = scan.pageSize ?? defaultPageSize;
    const heads = this.shards.map((lifecycle) => new ShardCursor(scanFailedJobs(this.options.connection, lifecycle.queue, { ...scan, pageSize })));
    let page: FailedJob[] = [];
    for (;;) {
      let oldest: ShardCursor | undefined;
      for (const head of heads) {
        const job = await head.peek();
        if (job !== undefined && (oldest === undefined || job.failedAt < (await oldest.peek())!.failedAt)) oldest = head;
      }
      if (oldest === undefined) break;
      page.push(oldest.take());
      if (page.length === pageSize) {
        yield page;
        page = [];
      }
    }
    if (page.length > 0) yield page;
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((lifecycle) => lifecycle.close()));
  }
}

/** One shard's failed jobs, a job at a time, reading its next page only when the last is used up. */
class ShardCursor {
  private page: FailedJob[] = [];
  private done = false;

  constructor(private readonly pages: AsyncGenerator<FailedJob[]>) {}

  async peek(): Promise<FailedJob | undefined> {
    while (this.page.length === 0 && !this.done) {
      const next = await this.pages.next();
      if (next.done === true) this.done = true;
      else this.page = next.value;
    }
    return this.page[0];
  }

  /** The job `peek` returned. */
  take(): FailedJob {
    return this.page.shift()!;
  }
}

/** Whether `score` is within Redis score bounds (`ZCOUNT`'s: a number, `(` before one to exclude it, or `-inf`/`+inf`). */
function withinScores(score: number, min: number | string, max: number | string): boolean {
  const bound = (value: number | string): { at: number; open: boolean } => {
    if (typeof value === "number") return { at: value, open: false };
    const open = value.startsWith("(");
    const text = (open ? value.slice(1) : value).toLowerCase();
    const at = text === "-inf" ? Number.NEGATIVE_INFINITY : text === "+inf" || text === "inf" ? Number.POSITIVE_INFINITY : Number(text);
    return { at, open };
  };
  const low = bound(min);
  const high = bound(max);
  return (low.open ? score > low.at : score >= low.at) && (high.open ? score < high.at : score <= high.at);
}
