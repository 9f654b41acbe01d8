import type { FailedSummary } from "./admin-types.js";
import { field } from "./dom.js";
import { count } from "./format.js";
import { describePurge, describePurgeRequest, type FilterPrefill, purgeRequestOf, type PurgeFields } from "./operator-forms.js";
import { type ChangeDescription, TwoStepDialog } from "./two-step-dialog.js";

/**
 * Purge in two steps: Continue says what will be deleted for good, and only then does the confirm
 * button purge. A failed row's Purge comes with its reason (that one alone) and status filled in: that row only.
 */
export class PurgeDialog extends TwoStepDialog {
  private summaries: readonly FailedSummary[] = [];

  /** `summaries`: every target that may have failed batches, removed ones too. */
  open(summaries: readonly FailedSummary[], prefill: FilterPrefill): void {
    this.summaries = summaries;
    this.fillFilters(
      summaries.map((s) => s.target),
      prefill,
    );
    this.show();
  }

  protected check(): ChangeDescription {
    const request = purgeRequestOf(this.fields());
    const summary = this.summaries.find((s) => s.target === request.target);
    const has = summary === undefined ? "" : ` (it has ${count(summary.batches, "failed batch", "failed batches")} of any age, for any reason)`;
    return { message: `Delete ${describePurgeRequest(request)}${has}, and their stored profiles? This cannot be undone.`, confirmable: true };
  }

  protected async change(): Promise<string> {
    return describePurge(await this.context.withToken(() => this.context.client.purge(purgeRequestOf(this.fields()))));
  }

  private fields(): PurgeFields {
    const value = (name: string) => field(this.form, name).value;
    return { ...this.filterFields(), olderThan: value("olderThan") };
  }
}
