import { z } from "zod";
import type { LocalFileConfig } from "./relay-config.js";
import { alloyBoolean, alloyString, duration, nullAs } from "./schema-values.js";

/** The arguments of a `local.file` component, with Alloy's defaults and checks. */
export const localFileSchema = z.strictObject({
  filename: alloyString,
  // Alloy reads "" as its default detector, fsnotify.
  detector: nullAs(
    "",
    z.enum(["", "fsnotify", "poll"], { error: (issue) => `unrecognized detector ${JSON.stringify(issue.input)}, expected fsnotify or poll` }),
  )
    .default("")
    .transform((detector): LocalFileConfig["detector"] => detector || "fsnotify"),
  poll_frequency: duration("1m").refine((ms) => ms > 0, { error: "must be greater than 0" }),
  is_secret: alloyBoolean.default(false),
});
