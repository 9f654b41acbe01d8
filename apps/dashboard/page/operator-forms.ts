import { count } from "./format.js";
import type { PurgeRequest, PurgeResult, ReplayRequest, ReplayResult } from "./admin-types.js";

/** What a dialog opens with: a failed row's target, reason (that one alone) and status, or nothing. */
export interface FilterPrefill {
  target?: string;
  reason?: string;
  exactReason?: boolean;
  status?: number;
}

/** The filter fields replay and purge share, as typed. */
export interface FilterFields {
  target: string;
  reason: string;
  /** The reason is one kind, matched whole; without a reason it has nothing to say. */
  exactReason: boolean;
  status: string;
}

/** The replay form's fields as typed. */
export interface ReplayFields extends FilterFields {
  since: string;
  limit: string;
}

/** The request's target and filters: empty ones left out (any). */
function filtersOf(fields: FilterFields): { target: string; reason?: string; exactReason?: boolean; status?: number } {
  const request: { target: string; reason?: string; exactReason?: boolean; status?: number } = { target: fields.target };
  const [reason, status] = [fields.reason.trim(), fields.status.trim()];
  if (reason !== "") request.reason = reason;
  if (reason !== "" && fields.exactReason) request.exactReason = true;
  if (status !== "") request.status = Number(status);
  return request;
}

/**
 * The request body for the replay form: empty fields are left out (any). The inputs of numbers only
 * take numbers; the API checks the values and names the field at fault, so the page does not check twice.
 */
export function replayRequestOf(fields: ReplayFields, dryRun: boolean): ReplayRequest {
  const request: ReplayRequest = filtersOf(fields);
  const [since, limit] = [fields.since.trim(), fields.limit.trim()];
  if (since !== "") request.since = since;
  if (limit !== "") request.limit = Number(limit);
  request.dryRun = dryRun;
  return request;
}

/** The purge form's fields as typed. */
export interface PurgeFields extends FilterFields {
  olderThan: string;
}

/** The request body for the purge form: empty fields are left out (any), as for replay. */
export function purgeRequestOf(fields: PurgeFields): PurgeRequest {
  const request: PurgeRequest = filtersOf(fields);
  const olderThan = fields.olderThan.trim();
  if (olderThan !== "") request.olderThan = olderThan;
  return request;
}

/** What a purge request will delete, in words, for the confirmation. */
export function describePurgeRequest(request: PurgeRequest): string {
  const filters = [
    request.reason === undefined ? "" : ` whose failure ${request.exactReason ? "is" : "is or starts with"} ${JSON.stringify(request.reason)}`,
    request.status === undefined ? "" : ` with status ${request.status}`,
    request.olderThan === undefined ? "" : ` older than ${request.olderThan}`,
  ];
  return `the failed batches of ${request.target}${filters.join("")}`;
}

/** The outcome in the CLI's words. */
export function describeReplay(result: ReplayResult): string {
  const what = `${count(result.replayed, "batch", "batches")} (${count(result.replayedProfiles, "profile")})`;
  const rest = `skipped ${result.skipped} (payload gone), not matched ${result.notMatched}`;
  return result.dryRun ? `Dry run: would replay ${what}; ${rest}.` : `Replayed ${what} of ${result.target}; ${rest}.`;
}

export function describePurge(result: PurgeResult): string {
  return `Purged ${count(result.purged, "failed batch", "failed batches")} (${count(result.purgedProfiles, "profile")}) of ${result.target}; deleted ${count(result.payloadsDeleted, "stored profile")} no other job held.`;
}
