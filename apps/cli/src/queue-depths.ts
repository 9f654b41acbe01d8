import type { RelayMetrics } from "@pyroscope-relay/ops";
import { targetQueues, type RedisConnection, type TargetQueue } from "@pyroscope-relay/queue";

/** The BullMQ job states `pyroscope_relay_queue_jobs` reports per target. */
const queueStates = ["waiting", "delayed", "active", "failed", "prioritized"] as const;

/** The job counts `/metrics` reports per target and state, summed over its queue shards, for the configured targets. */
export class QueueDepths {
  private queues = new Map<string, TargetQueue[]>();

  constructor(
    private readonly connection: RedisConnection,
    private readonly prefix: string,
    private readonly shards: number,
  ) {}

  /** Reports on `targets` from now on (at start and after a reload). */
  async setTargets(targets: readonly string[]): Promise<void> {
    const previous = this.queues;
    this.queues = new Map(targets.map((target) => [target, previous.get(target) ?? targetQueues(this.connection, this.prefix, target, this.shards)]));
    await Promise.all([...previous].filter(([target]) => !this.queues.has(target)).flatMap(([, queues]) => queues.map((queue) => queue.close())));
  }

  attach(metrics: RelayMetrics, onError: (err: unknown) => void): void {
    metrics.setQueueDepthSource(async () => (await Promise.all([...this.queues].map(([target, queues]) => this.countsOf(target, queues)))).flat(), onError);
  }

  async close(): Promise<void> {
    await this.setTargets([]);
  }

  private async countsOf(target: string, queues: TargetQueue[]) {
    const shards = await Promise.all(queues.map((queue) => queue.getJobCounts(...queueStates)));
    return queueStates.map((state) => ({ target, state, count: shards.reduce((sum, counts) => sum + (counts[state] ?? 0), 0) }));
  }
}
