import { field } from "./dom.js";
import { count } from "./format.js";
import { describeReplay, type FilterPrefill, replayRequestOf, type ReplayFields } from "./operator-forms.js";
import { TwoStepDialog } from "./two-step-dialog.js";

/**
 * Replay in two steps, as `replay --dry-run` then `replay`: the dry run shows what the filters match,
 * and only then does the confirm button replay, with those same filters.
 */
export class ReplayDialog extends TwoStepDialog {
  open(targets: readonly string[], prefill: FilterPrefill): void {
    this.fillFilters(targets, prefill);
    this.show();
  }

  protected async check(): Promise<void> {
    this.unconfirm("Counting…");
    const result = await this.context.withToken(() => this.context.client.replay(replayRequestOf(this.fields(), true)));
    if (result.replayed > 0) this.confirmable(describeReplay(result), `Replay ${count(result.replayed, "batch", "batches")}`);
    else this.unconfirm(describeReplay(result));
  }

  protected async change(): Promise<string> {
    return describeReplay(await this.context.withToken(() => this.context.client.replay(replayRequestOf(this.fields(), false))));
  }

  private fields(): ReplayFields {
    const value = (name: string) => field(this.form, name).value;
    return { ...this.filterFields(), since: value("since"), limit: value("limit") };
  }
}
