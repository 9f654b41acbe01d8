import { field } from "./dom.js";
import { count } from "./format.js";
import { describeReplay, type FilterPrefill, replayRequestOf, type ReplayFields } from "./operator-forms.js";
import { type ChangeDescription, TwoStepDialog } from "./two-step-dialog.js";

/**
 * Replay in two steps, as `replay --dry-run` then `replay --as-of`: the dry run shows what the
 * filters match, and only then does the confirm button replay, with those same filters, as of the
 * dry run's time and at most the batches it counted: a batch that fails after the dry run is not
 * replayed with the ones the button names.
 */
export class ReplayDialog extends TwoStepDialog {
  private counted = 0;
  private asOf = "";

  open(targets: readonly string[], prefill: FilterPrefill): void {
    this.fillFilters(targets, prefill);
    this.show();
  }

  protected override readonly checking = "Counting…";

  protected async check(): Promise<ChangeDescription> {
    const result = await this.context.withToken(() => this.context.client.replay(replayRequestOf(this.fields(), true)));
    const keep = () => {
      this.counted = result.replayed;
      this.asOf = result.asOf;
    };
    return { message: describeReplay(result), confirmable: result.replayed > 0, confirmLabel: `Replay ${count(result.replayed, "batch", "batches")}`, keep };
  }

  protected async change(): Promise<string> {
    const request = replayRequestOf(this.fields(), false);
    request.limit = Math.min(request.limit ?? this.counted, this.counted);
    request.asOf = this.asOf;
    return describeReplay(await this.context.withToken(() => this.context.client.replay(request)));
  }

  private fields(): ReplayFields {
    const value = (name: string) => field(this.form, name).value;
    return { ...this.filterFields(), since: value("since"), limit: value("limit") };
  }
}
