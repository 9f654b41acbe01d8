import type { FailedSummary } from "./admin-types.js";
import { field } from "./dom.js";
import { count } from "./format.js";
import { describePurge, describePurgeRequest, type FilterPrefill, purgeRequestOf, type PurgeFields } from "./operator-forms.js";
import { type ChangeDescription, TwoStepDialog } from "./two-step-dialog.js";

/**
 * Purge in two steps, as `purge --dry-run` then `purge --as-of`: Continue counts what will be deleted
 * for good, and only then does the confirm button purge those batches, as of the dry run's time: none
 * that failed since. A failed row's Purge comes with its reason (that one alone) and status filled
 * in: that row only.
 */
export class PurgeDialog extends TwoStepDialog {
  private asOf = "";

  /** `summaries`: every target that may have failed batches, removed ones too. */
  open(summaries: readonly FailedSummary[], prefill: FilterPrefill): void {
    this.fillFilters(
      summaries.map((s) => s.target),
      prefill,
    );
    this.show();
  }

  protected override readonly checking = "Counting…";

  protected async check(): Promise<ChangeDescription> {
    const request = purgeRequestOf(this.fields());
    const result = await this.context.withToken(() => this.context.client.purge({ ...request, dryRun: true }));
    const batches = count(result.purged, "failed batch", "failed batches");
    if (result.purged === 0) return { message: `No failed batch matches: ${describePurgeRequest(request)}.`, confirmable: false };
    return {
      message: `Delete ${describePurgeRequest(request)}: ${batches} (${count(result.purgedProfiles, "profile")}), and their stored profiles? This cannot be undone.`,
      confirmable: true,
      confirmLabel: `Delete ${batches} for good`,
      keep: () => (this.asOf = result.asOf),
    };
  }

  protected async change(): Promise<string> {
    const request = { ...purgeRequestOf(this.fields()), asOf: this.asOf };
    return describePurge(await this.context.withToken(() => this.context.client.purge(request)));
  }

  private fields(): PurgeFields {
    const value = (name: string) => field(this.form, name).value;
    return { ...this.filterFields(), olderThan: value("olderThan") };
  }
}
