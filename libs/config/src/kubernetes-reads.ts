import { contentDigest } from "./content-digest.js";
import type { KubernetesObjectRequest } from "./relay-config.js";

/** What reading an object gave: its data (a Secret's values decoded), or why it could not be read. */
export type KubernetesObjectRead = { data: Record<string, string> } | { error: string };

/** Where the evaluation finds the objects: a read made before it (the evaluation itself does no I/O). */
export interface KubernetesObjectSource {
  /** What reading `request` gave; undefined when it was not read yet. */
  lookup(request: KubernetesObjectRequest): KubernetesObjectRead | undefined;
  /**
   * Nothing is read (the operator commands, which need only the targets' names): every object is a
   * stand-in whose every key reads as "", its arguments not checked (they may read another's data).
   */
  readonly standIn?: boolean;
}

/**
 * The objects read for loading a configuration, and those its evaluation asked for that are not read
 * yet: `loadConfig` reads these and evaluates again, until nothing is missing (an object's arguments
 * may read another's data).
 */
export class KubernetesReads implements KubernetesObjectSource {
  private readonly reads = new Map<string, KubernetesObjectRead>();
  private readonly missing = new Map<string, KubernetesObjectRequest>();

  lookup(request: KubernetesObjectRequest): KubernetesObjectRead | undefined {
    const key = JSON.stringify(request);
    const read = this.reads.get(key);
    if (read === undefined) this.missing.set(key, request);
    return read;
  }

  /** The objects asked for and not read yet; taking them empties the list. */
  takeMissing(): KubernetesObjectRequest[] {
    const missing = [...this.missing.values()];
    this.missing.clear();
    return missing;
  }

  record(request: KubernetesObjectRequest, read: KubernetesObjectRead): void {
    this.reads.set(JSON.stringify(request), read);
  }
}

/** The source of the operator commands: nothing is read, every key of every object reads as "". */
export const standInObjects: KubernetesObjectSource = { standIn: true, lookup: () => undefined };

/** What tells one data of an object from another, without keeping a secret's values twice. */
export function kubernetesDataDigest(data: Readonly<Record<string, string>>): string {
  return contentDigest(JSON.stringify(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}
