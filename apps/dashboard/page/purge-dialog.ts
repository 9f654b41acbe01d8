import type { FailedSummary } from "./admin-types.js";
import { field, setOptions } from "./dom.js";
import { count } from "./format.js";
import { describePurge, purgeRequestOf } from "./operator-forms.js";
import { TwoStepDialog } from "./two-step-dialog.js";

/** Purge in two steps: Continue says what will be deleted for good, and only then does the confirm button purge. */
export class PurgeDialog extends TwoStepDialog {
  private summaries: readonly FailedSummary[] = [];

  /** `summaries`: every target that may have failed batches, removed ones too. */
  open(summaries: readonly FailedSummary[], target: string | undefined): void {
    this.summaries = summaries;
    this.form.reset();
    const names = summaries.map((s) => s.target);
    setOptions(field<HTMLSelectElement>(this.form, "target"), names, target ?? names[0] ?? "");
    this.show();
  }

  protected check(): void {
    const { target, olderThan } = purgeRequestOf(this.values());
    const summary = this.summaries.find((s) => s.target === target);
    const has = summary === undefined ? "" : ` (it has ${count(summary.batches, "failed batch", "failed batches")} of any age)`;
    this.confirmable(
      `Delete the failed batches of ${target}${olderThan === undefined ? "" : ` older than ${olderThan}`}${has}, and their stored profiles? This cannot be undone.`,
    );
  }

  protected async change(): Promise<string> {
    return describePurge(await this.context.withToken(() => this.context.client.purge(purgeRequestOf(this.values()))));
  }

  private values() {
    return { target: field(this.form, "target").value, olderThan: field(this.form, "olderThan").value };
  }
}
