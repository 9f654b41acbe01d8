import type { FailedSummary } from "./admin-types.js";
import { field, setOptions } from "./dom.js";
import { count } from "./format.js";
import { describePurge, purgeRequestOf } from "./operator-forms.js";
import type { OperatorDialogContext } from "./replay-dialog.js";

/**
 * Purge in two steps: Continue says what will be deleted for good, and only then does the confirm
 * button purge. Editing a field takes the confirmation back.
 */
export class PurgeDialog {
  private readonly form: HTMLFormElement;
  private readonly confirm: HTMLButtonElement;
  private readonly outcome: HTMLElement;
  private summaries: readonly FailedSummary[] = [];

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
      if (step === "confirm") void this.purge();
      else this.check();
    });
    dialog.querySelector("[data-close]")!.addEventListener("click", () => dialog.close());
  }

  /** `summaries`: every target that may have failed batches, removed ones too. */
  open(summaries: readonly FailedSummary[], target: string | undefined): void {
    this.summaries = summaries;
    this.form.reset();
    const names = summaries.map((s) => s.target);
    setOptions(field<HTMLSelectElement>(this.form, "target"), names, target ?? names[0] ?? "");
    this.unconfirm("");
    this.dialog.showModal();
  }

  private check(): void {
    const { target, olderThan } = purgeRequestOf(this.values());
    const summary = this.summaries.find((s) => s.target === target);
    const has = summary === undefined ? "" : ` (it has ${count(summary.batches, "failed batch", "failed batches")} of any age)`;
    this.outcome.textContent = `Delete the failed batches of ${target}${olderThan === undefined ? "" : ` older than ${olderThan}`}${has}, and their stored profiles? This cannot be undone.`;
    this.outcome.classList.remove("bad");
    this.confirm.disabled = false;
  }

  private async purge(): Promise<void> {
    this.confirm.disabled = true;
    try {
      const result = await this.context.withToken(() => this.context.client.purge(purgeRequestOf(this.values())));
      this.dialog.close();
      this.context.changed(describePurge(result));
    } catch (error) {
      this.unconfirm((error as Error).message, true);
    }
  }

  private values() {
    return { target: field(this.form, "target").value, olderThan: field(this.form, "olderThan").value };
  }

  private unconfirm(message: string, problem = false): void {
    this.confirm.disabled = true;
    this.outcome.textContent = message;
    this.outcome.classList.toggle("bad", problem);
  }
}
