import { parseDuration } from "@pyroscope-relay/config";
import { z } from "zod";

/** A Go-style duration ("90m", "2h"), parsed into milliseconds; must be above zero. */
const duration = z.string({ error: "must be a duration such as 30m or 2h" }).transform((text, ctx) => {
  try {
    const ms = parseDuration(text);
    if (ms > 0) return ms;
    ctx.addIssue({ code: "custom", message: "must be longer than 0" });
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as Error).message });
  }
  return z.NEVER;
});

const target = z
  .string({ error: (issue) => (issue.input === undefined ? "is required: the target whose failed batches to act on" : "must be a target name") })
  .min(1, "must be a target name");

/**
 * A time as RFC 3339 (`2026-12-05T20:31:02.123Z`), as a dry run reports it, in milliseconds since
 * the epoch: the request acts only on batches that had failed by then.
 */
const asOf = z
  .string({ error: "must be a time such as 2026-12-05T20:31:02.123Z" })
  .pipe(z.iso.datetime({ offset: true, error: "must be a time such as 2026-12-05T20:31:02.123Z" }))
  .transform((text) => Date.parse(text));

/**
 * What an operator may ask of `replay`, from the admin API's JSON body or the command's flags. Unknown
 * fields are refused, so that a typo (`dry_run`) cannot turn a dry run into a real one.
 */
const reason = z.string({ error: 'must be a failure reason such as "http 400"' }).trim().min(1, "must not be empty");
/** With `reason` only: it names one kind, matched whole rather than by its leading words. */
const exactReason = z.boolean({ error: "must be true or false" }).optional();
const status = z.int({ error: "must be an HTTP status code" }).min(100, "must be an HTTP status code").max(599, "must be an HTTP status code");

function exactReasonHasReason(request: { reason?: string; exactReason?: boolean }): boolean {
  return request.exactReason !== true || request.reason !== undefined;
}

const dryRun = z.boolean({ error: "must be true or false" }).optional();

const exactReasonIssue = { path: ["exactReason"], message: "needs a reason to match" };

export const replayRequest = z
  .strictObject({
    target,
    reason: reason.optional(),
    exactReason,
    status: status.optional(),
    since: duration.optional(),
    limit: z.int({ error: "must be a whole number" }).min(1, "must be at least 1").optional(),
    asOf: asOf.optional(),
    dryRun,
  })
  .refine(exactReasonHasReason, exactReasonIssue);

export const purgeRequest = z
  .strictObject({
    target,
    olderThan: duration.optional(),
    reason: reason.optional(),
    exactReason,
    status: status.optional(),
    asOf: asOf.optional(),
    dryRun,
  })
  .refine(exactReasonHasReason, exactReasonIssue);

/** A valid replay request; `since` in milliseconds, `asOf` in milliseconds since the epoch. */
export type ReplayRequest = z.output<typeof replayRequest>;
/** A valid purge request; `olderThan` in milliseconds, `asOf` in milliseconds since the epoch. */
export type PurgeRequest = z.output<typeof purgeRequest>;

/**
 * One line naming every field at fault, e.g. `status: must be an HTTP status code`. `nameOf` renames
 * fields for the caller's audience (`olderThan` -> `--older-than`).
 */
export function describeRequestError(error: z.ZodError, nameOf: (field: string) => string = (field) => field): string {
  return error.issues
    .map((issue) => {
      const field = issue.path.map(String).join(".");
      return field === "" ? issue.message : `${nameOf(field)}: ${issue.message}`;
    })
    .join("; ");
}
