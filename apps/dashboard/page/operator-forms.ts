import { count } from "./format.js";
import type { PurgeRequest, PurgeResult, ReplayRequest, ReplayResult } from "./admin-types.js";

/** The replay form's fields as typed. */
export interface ReplayFields {
  target: string;
  reason: string;
  status: string;
  since: string;
  limit: string;
}

/**
 * The request body for the replay form: empty fields are left out (any). The inputs of numbers only
 * take numbers; the API checks the values and names the field at fault, so the page does not check twice.
 */
export function replayRequestOf(fields: ReplayFields, dryRun: boolean): ReplayRequest {
  const request: ReplayRequest = { target: fields.target };
  const [reason, status, since, limit] = [fields.reason.trim(), fields.status.trim(), fields.since.trim(), fields.limit.trim()];
  if (reason !== "") request.reason = reason;
  if (status !== "") request.status = Number(status);
  if (since !== "") request.since = since;
  if (limit !== "") request.limit = Number(limit);
  request.dryRun = dryRun;
  return request;
}

/** The purge form's fields as typed. */
export interface PurgeFields {
  target: string;
  reason: string;
  status: string;
  olderThan: string;
}

/** The request body for the purge form: empty fields are left out (any), as for replay. */
export function purgeRequestOf(fields: PurgeFields): PurgeRequest {
  const request: PurgeRequest = { target: fields.target };
  const [reason, status, olderThan] = [fields.reason.trim(), fields.status.trim(), fields.olderThan.trim()];
  if (reason !== "") request.reason = reason;
  if (status !== "") request.status = Number(status);
  if (olderThan !== "") request.olderThan = olderThan;
  return request;
}

/** What a purge request will delete, in words, for the confirmation. */
export function describePurgeRequest(request: PurgeRequest): string {
  const filters = [
    request.reason === undefined ? "" : ` whose failure is ${JSON.stringify(request.reason)}`,
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
