import { kubernetesDataDigest } from "./kubernetes-reads.js";
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
  /** One poll per object read, by `pollKey`: components of several instances that read one object poll it once. */
  private polls = new Map<string, ObjectPoll>();

  constructor(
    private readonly read: KubernetesObjectReader,
    private readonly events: KubernetesObjectWatchEvents,
  ) {}

  /**
   * Polls the objects of a configuration (just loaded) instead of what it polled before. A poll of an
   * object read before goes on at its pace, from the data just loaded: reloads more frequent than
   * `poll_frequency` must not keep an object from being read.
   */
  watch(objects: readonly KubernetesObjectConfig[]): void {
    const next = new Map<string, ObjectPoll>();
    for (const object of objects) {
      const key = pollKey(object);
      if (next.has(key)) continue;
      const kept = this.polls.get(key);
      this.polls.delete(key);
      kept?.loaded(object);
      next.set(key, kept ?? new ObjectPoll(object, this.read, this.events));
    }
    this.close();
    this.polls = next;
  }

  /**
   * Tells `object`'s change again at its next read, the data still new: the reload it asked for could
   * not take it for a passing reason (Redis unreachable, say), where data it refused is told once.
   */
  retry(object: KubernetesObjectConfig): void {
    this.polls.get(pollKey(object))?.loaded(object);
  }

  close(): void {
    for (const poll of this.polls.values()) poll.close();
    this.polls.clear();
  }
}

function pollKey(object: KubernetesObjectConfig): string {
  return `${object.pollFrequencyMs} ${JSON.stringify(object.request)}`;
}

/** One object's poll; its timer is unref'd: it never keeps the process alive. */
class ObjectPoll {
  private seen: string;
  private failing = false;
  private reading = false;
  private closed = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private object: KubernetesObjectConfig,
    private readonly read: KubernetesObjectReader,
    private readonly events: KubernetesObjectWatchEvents,
  ) {
    this.seen = object.dataDigest;
    this.timer = setInterval(() => void this.poll(), timerDelay(object.pollFrequencyMs)).unref();
  }

  /** The configuration now holds `object`'s data as loaded: changes count from it. */
  loaded(object: KubernetesObjectConfig): void {
    this.object = object;
    this.seen = object.dataDigest;
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
