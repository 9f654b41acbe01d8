import type { TargetConfig } from "@pyroscope-relay/config";
import { compileRelabeling, type DroppedProfile, rewriteIngestQuery } from "@pyroscope-relay/profile";

/** A target's rewrite of an `/ingest` query: `rewriteIngestQuery` with its relabel rules and external labels. */
export type QueryRewrite = (query: string) => string | DroppedProfile;

/** What a target's rewrite depends on. */
export type QueryRewriteSettings = Pick<TargetConfig, "externalLabels" | "relabel">;

interface Entry {
  query: string | DroppedProfile;
  /** Targets of the group that may still ask for it. */
  usesLeft: number;
}

/**
 * The downstream queries of `/ingest` profiles, shared by the targets of a writer process. Every
 * target of a flush gets the same profiles, and targets with the same relabel rules and external
 * labels send each the same query: it is rewritten once (the first target to ask) and kept for the others. Rewriting took
 * about a quarter of the bytes a writer allocated per request (docs/performance.md, "What a writer
 * allocates, and the gaps between its jobs").
 *
 * An entry goes once every other target of its group took it, or, oldest first, when the group
 * holds `maxEntries` (a target that lags far behind, or runs in another process, rewrites again).
 * A target whose labels no other target of the process has keeps nothing. Errors are not kept: each
 * target gets the rewrite's own.
 */
export class IngestQueries {
  /** By settings (`rewriteKey`), then by received query, oldest first. */
  private readonly groups = new Map<string, Map<string, Entry>>();

  /**
   * @param sharers how many targets of the process have these settings (`rewriteKey`) now.
   * @param maxEntries the most queries kept per group.
   */
  constructor(
    private readonly sharers: (key: string) => number,
    private readonly maxEntries: number,
    private readonly rewrite: typeof rewriteIngestQuery = rewriteIngestQuery,
  ) {}

  /** The rewrite for a target with `settings`. */
  rewriterFor(settings: QueryRewriteSettings): QueryRewrite {
    const key = rewriteKey(settings);
    const relabeling = compileRelabeling(settings.relabel);
    return (query) => this.forward(key, query, () => this.rewrite(query, settings.externalLabels, relabeling));
  }

  private forward(key: string, query: string, rewrite: () => string | DroppedProfile): string | DroppedProfile {
    const group = this.groups.get(key);
    const kept = group?.get(query);
    if (kept !== undefined) {
      if (--kept.usesLeft === 0) group!.delete(query);
      return kept.query;
    }
    const forwarded = rewrite();
    const others = this.sharers(key) - 1;
    if (others < 1) return forwarded;
    const entries = group ?? this.groups.set(key, new Map()).get(key)!;
    entries.set(query, { query: forwarded, usesLeft: others });
    if (entries.size > this.maxEntries) entries.delete(entries.keys().next().value!);
    return forwarded;
  }
}

/** The same text for the same relabel rules and external labels, whatever the labels' order. */
export function rewriteKey({ externalLabels, relabel }: QueryRewriteSettings): string {
  return JSON.stringify([Object.entries(externalLabels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)), relabel]);
}
