import type { AdminClient } from "./admin-client.js";
import { field, setOptions } from "./dom.js";
import { count } from "./format.js";
import { describeReplay, replayRequestOf, type ReplayFields } from "./operator-forms.js";

export interface OperatorDialogContext {
  client: AdminClient;
  /** Runs an API call, asking for the token and trying again while the API answers 401. */
  withToken<T>(call: () => Promise<T>): Promise<T>;
  /** After a change: tell the page, refresh it. */
  changed(message: string): void;
}

/**
 * Replay in two steps, as `replay --dry-run` then `replay`: the dry run shows what the filters match,
 * and only then does the confirm button replay, with those same filters. Editing a filter takes the
 * confirmation back.
 */
export class ReplayDialog {
  private readonly form: HTMLFormElement;
  private readonly confirm: HTMLButtonElement;
  private readonly outcome: HTMLElement;

  constructor(
    private readonly dialog: HTMLDialogElement,
    private readonly context: OperatorDialogContext,
  ) {
    this.form = dialog.querySelector("form")!;
    this.confirm = this.form.querySelector('button[value="confirm"]')!;
    this.outcome = dialog.querySelector("[role=status]")!;
    this.form.addEventListener("input", () => this.unconfirm(""));
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const step = (event.submitter as HTMLButtonElement | null)?.value;
      void (step === "confirm" ? this.replay() : this.dryRun());
    });
    dialog.querySelector("[data-close]")!.addEventListener("click", () => dialog.close());
  }

  open(targets: readonly string[], prefill: { target?: string; reason?: string; status?: number }): void {
    this.form.reset();
    setOptions(field<HTMLSelectElement>(this.form, "target"), targets, prefill.target ?? targets[0] ?? "");
    field<HTMLInputElement>(this.form, "reason").value = prefill.reason ?? "";
    field<HTMLInputElement>(this.form, "status").value = prefill.status === undefined ? "" : String(prefill.status);
    this.unconfirm("");
    this.dialog.showModal();
  }

  private fields(): ReplayFields {
    const value = (name: string) => field(this.form, name).value;
    return { target: value("target"), reason: value("reason"), status: value("status"), since: value("since"), limit: value("limit") };
  }

  private async dryRun(): Promise<void> {
    this.unconfirm("Counting…");
    try {
      const result = await this.context.withToken(() => this.context.client.replay(replayRequestOf(this.fields(), true)));
      this.outcome.textContent = describeReplay(result);
      if (result.replayed > 0) {
        this.confirm.disabled = false;
        this.confirm.textContent = `Replay ${count(result.replayed, "batch", "batches")}`;
      }
    } catch (error) {
      this.unconfirm((error as Error).message, true);
    }
  }

  private async replay(): Promise<void> {
    this.confirm.disabled = true;
    try {
      const result = await this.context.withToken(() => this.context.client.replay(replayRequestOf(this.fields(), false)));
      this.dialog.close();
      this.context.changed(describeReplay(result));
    } catch (error) {
      this.unconfirm((error as Error).message, true);
    }
  }

  private unconfirm(message: string, problem = false): void {
    this.confirm.disabled = true;
    this.confirm.textContent = "Replay";
    this.outcome.textContent = message;
    this.outcome.classList.toggle("bad", problem);
  }
}
