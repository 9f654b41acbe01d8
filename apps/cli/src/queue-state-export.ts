import type { TargetConfig } from "@pyroscope-relay/config";
import type { QueueStateReading, RelayMetrics } from "@pyroscope-relay/ops";
import { ExporterLease, readTargetStates, type RedisConnection, type TargetState } from "@pyroscope-relay/queue";

/** How long shutdown waits to let go of the exporter lease. */
const RELEASE_DEADLINE_MS = 2_000;

/**
 * Feeds the metrics the deployment's queue state (docs/metrics.md): at each scrape, if this process
 * holds the exporter lease, every configured target's state read from Redis; else none, so that sums
 * over all processes count it once.
 */
export class QueueStateExport {
  private targets: readonly TargetConfig[] = [];
  private readonly lease: ExporterLease;
  private closed = false;

  constructor(
    private readonly connection: RedisConnection,
    private readonly prefix: string,
    private readonly shards: number,
  ) {
    this.lease = new ExporterLease(connection, prefix);
  }

  /** Reports on `targets` from now on (at start and after a reload). */
  setTargets(targets: readonly TargetConfig[]): void {
    this.targets = targets;
  }

  attach(metrics: RelayMetrics, onError: (err: unknown) => void): void {
    metrics.setQueueStateSource(() => this.read(), onError);
  }

  /**
   * Lets go of the lease, so that another process exports from its next scrape on; a scrape during
   * the rest of the shutdown exports nothing. With Redis unreachable, or `release` false (Redis left
   * the shutdown's QUIT unanswered), the lease's TTL lets go instead.
   */
  async close({ release = true }: { release?: boolean } = {}): Promise<void> {
    this.closed = true;
    // A Redis that does not answer must not hold up the shutdown: the lease's TTL lets go then.
    if (!release || this.connection.status !== "ready") return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, RELEASE_DEADLINE_MS);
    });
    await Promise.race([this.lease.release().catch(() => undefined), late]);
    clearTimeout(timer);
  }

  private async read(): Promise<QueueStateReading[] | undefined> {
    if (this.closed || !(await this.lease.hold())) return undefined;
    const targets = this.targets;
    const states = await readTargetStates(
      this.connection,
      this.prefix,
      targets.map((t) => t.name),
      this.shards,
    );
    return states.map((state, i) => readingOf(state, targets[i]!.url));
  }
}

function readingOf(state: TargetState, endpoint: string): QueueStateReading {
  return {
    target: state.target,
    endpoint,
    jobs: state.jobs,
    backlog: state.backlog,
    oldestWaitingAgeSeconds: (state.oldestWaitingAgeMs ?? 0) / 1000,
    circuitOpen: state.circuitOpenUntil !== null,
    deliveredProfiles: state.deliveredProfiles,
    discarded: Object.entries(state.discarded).map(([reason, { profiles, bytes }]) => ({ reason, profiles, bytes })),
  };
}
