import { defaultRelabelRule, relabelActions, type RelabelAction, type RelabelRule, relabelRuleProblem } from "@pyroscope-relay/profile";
import { z } from "zod";
import { receiverReference } from "./receive-http-schema.js";
import { alloyString, blockList, nullAs, wholeNumber } from "./schema-values.js";

const action = alloyString.pipe(
  z.string().refine((text): text is RelabelAction => (relabelActions as readonly string[]).includes(text), {
    error: (issue) => `unrecognized action type ${JSON.stringify(issue.input)}; expected one of ${relabelActions.join(", ")}`,
  }),
);

/** A `rule` block, with Alloy's defaults, checked as Alloy's `Validate` checks it. */
const rule = z
  .strictObject({
    source_labels: nullAs([], z.array(alloyString)).default([]),
    separator: alloyString.default(defaultRelabelRule.separator),
    regex: alloyString.default(defaultRelabelRule.regex),
    // A uint64 in Alloy; a modulus past 2^53 has no use for label values.
    modulus: wholeNumber(0).default(defaultRelabelRule.modulus),
    target_label: alloyString.default(defaultRelabelRule.targetLabel),
    replacement: alloyString.default(defaultRelabelRule.replacement),
    action: action.default(defaultRelabelRule.action),
  })
  .transform(
    (block): RelabelRule => ({
      sourceLabels: block.source_labels,
      separator: block.separator,
      regex: block.regex,
      modulus: block.modulus,
      targetLabel: block.target_label,
      replacement: block.replacement,
      action: block.action as RelabelAction,
    }),
  )
  .superRefine((value, ctx) => {
    const problem = relabelRuleProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  });

/** The body of a `pyroscope.relabel` component, with Alloy's defaults. */
export const relabelSchema = z.strictObject({
  forward_to: nullAs([], z.array(receiverReference)),
  rule: blockList("rule", rule).default([]),
  // Alloy's cache of relabeled label sets, which must have room for one; the relay keeps none.
  max_cache_size: wholeNumber(1).default(10_000),
});

export type RelabelComponent = z.output<typeof relabelSchema>;
