import { kubernetesDataDigest } from "./kubernetes-objects.js";
import type { KubernetesObjectReader } from "./load-config.js";
import type { KubernetesObjectConfig } from "./relay-config.js";
import { timerDelay } from "./timer-delay.js";

export interface KubernetesObjectWatchEvents {
  /** The object's data is no longer what it was last seen holding. */
  changed(object: KubernetesObjectConfig): void;
  /** A read failed, after one that did not (or the first): told once until a read succeeds again. */
  readFailed(object: KubernetesObjectConfig, error: Error): void;
  /** A read succeeded after one that failed. */
  readAgain(object: KubernetesObjectConfig): void;
}

/**
 * Reads the objects of a configuration's remote.kubernetes.* components every `poll_frequency`, as
 * Alloy's components poll, and tells when one's data changed: against what it was last seen holding,
 * starting from what the configuration was loaded with, so that a change is told once, whether the
 * reload it asks for takes it or not. A read that fails keeps the data last loaded, as Alloy keeps its
 * exports (the component turns unhealthy).
 */
export class KubernetesObjectWatch {
  private polls: ObjectPoll[] = [];

  constructor(
    private readonly read: KubernetesObjectReader,
    private readonly events: KubernetesObjectWatchEvents,
  ) {}

  /** Polls the objects of a configuration (just loaded) instead of what it polled before. */
  watch(objects: readonly KubernetesObjectConfig[]): void {
    this.close();
    this.polls = objects.map((object) => new ObjectPoll(object, this.read, this.events));
  }

  /**
   * Tells `object`'s change again at its next read, the data still new: the reload it asked for could
   * not take it for a passing reason (Redis unreachable, say), where data it refused is told once.
   */
  retry(object: KubernetesObjectConfig): void {
    for (const poll of this.polls) poll.retry(object);
  }

  close(): void {
    for (const poll of this.polls) poll.close();
    this.polls = [];
  }
}

/** One object's poll; its timer is unref'd: it never keeps the process alive. */
class ObjectPoll {
  private seen: string;
  private failing = false;
  private reading = false;
  private closed = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly object: KubernetesObjectConfig,
    private readonly read: KubernetesObjectReader,
    private readonly events: KubernetesObjectWatchEvents,
  ) {
    this.seen = object.dataDigest;
    this.timer = setInterval(() => void this.poll(), timerDelay(object.pollFrequencyMs)).unref();
  }

  retry(object: KubernetesObjectConfig): void {
    if (object.id === this.object.id) this.seen = this.object.dataDigest;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
  }

  private async poll(): Promise<void> {
    // One read at a time: an API server slower than the poll frequency gets no pile of requests.
    if (this.reading) return;
    this.reading = true;
    let digest: string;
    try {
      digest = kubernetesDataDigest(await this.read(this.object.request));
    } catch (error) {
      if (!this.closed && !this.failing) this.events.readFailed(this.object, error instanceof Error ? error : new Error(String(error)));
      this.failing = true;
      return;
    } finally {
      this.reading = false;
    }
    if (this.closed) return;
    if (this.failing) this.events.readAgain(this.object);
    this.failing = false;
    if (digest === this.seen) return;
    this.seen = digest;
    this.events.changed(this.object);
  }
}
