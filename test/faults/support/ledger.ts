import type { FakeResponse, FakeTarget, RecordedRequest } from "@pyroscope-relay/testing";
import { idLabel } from "./load.js";

/** How a target answers the profile with `id` (undefined when the request carries none); undefined means 200. */
export type Verdict = (id: string | undefined, request: RecordedRequest) => FakeResponse | undefined;

/**
 * What one fake target accepted, by profile ID. A request counts as delivered when the target decided
 * to answer 2xx, even if the answer is held or never reaches the relay (a crashed writer): a real
 * Pyroscope has ingested it by then, so the redelivery that follows is a duplicate, not a first copy.
 */
export interface TargetLedger {
  readonly name: string;
  readonly target: FakeTarget;
  /** ID -> the times (`Date.now()`) each copy was accepted. */
  readonly accepted: Map<string, number[]>;
  /** Requests answered with an error status. */
  refused: number;
  /** Replaces how the target answers (undefined: 200 to everything). */
  answer(verdict: Verdict | undefined): void;
}

/** Installs a response rule on `target` that records every accepted profile ID. */
export function ledgerFor(name: string, target: FakeTarget): TargetLedger {
  let verdict: Verdict | undefined;
  const ledger: TargetLedger = {
    name,
    target,
    accepted: new Map(),
    refused: 0,
    answer(next) {
      verdict = next;
    },
  };
  target.respond((request) => {
    const id = profileIdOf(request);
    const response = verdict?.(id, request);
    if (response !== undefined && (response.status < 200 || response.status >= 300)) {
      ledger.refused++;
      return response;
    }
    if (id !== undefined) {
      const times = ledger.accepted.get(id) ?? [];
      times.push(request.at);
      ledger.accepted.set(id, times);
    }
    return response;
  });
  return ledger;
}

const idPattern = new RegExp(`[{,]${idLabel}=([^,}]*)`);

/** The ID the load generator put in the `/ingest` name, as the relay forwarded it. */
export function profileIdOf(request: RecordedRequest): string | undefined {
  const name = new URLSearchParams(request.query).get("name");
  return name === null ? undefined : idPattern.exec(name)?.[1];
}
