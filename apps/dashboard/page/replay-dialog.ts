import { field } from "./dom.js";
import { count } from "./format.js";
import { describeReplay, type FilterPrefill, replayRequestOf, type ReplayFields } from "./operator-forms.js";
import { type ChangeDescription, TwoStepDialog } from "./two-step-dialog.js";

/**
 * Replay in two steps, as `replay --dry-run` then `replay`: the dry run shows what the filters match,
 * and only then does the confirm button replay, with those same filters and at most the batches the
 * dry run counted (oldest first, as it counted them): a batch that fails after the dry run is not
 * replayed with the ones the button names.
 */
export class ReplayDialog extends TwoStepDialog {
  private counted = 0;

  open(targets: readonly string[], prefill: FilterPrefill): void {
    this.fillFilters(targets, prefill);
    this.show();
  }

  protected override readonly checking = "Counting…";

  protected async check(): Promise<ChangeDescription> {
    const result = await this.context.withToken(() => this.context.client.replay(replayRequestOf(this.fields(), true)));
    const message = describeReplay(result);
    this.counted = result.replayed;
    return { message, confirmable: result.replayed > 0, confirmLabel: `Replay ${count(result.replayed, "batch", "batches")}` };
  }

  protected async change(): Promise<string> {
    const request = replayRequestOf(this.fields(), false);
    request.limit = Math.min(request.limit ?? this.counted, this.counted);
    return describeReplay(await this.context.withToken(() => this.context.client.replay(request)));
  }

  private fields(): ReplayFields {
    const value = (name: string) => field(this.form, name).value;
    return { ...this.filterFields(), since: value("since"), limit: value("limit") };
  }
}
