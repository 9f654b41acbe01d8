import type { AdminClient } from "./admin-client.js";
import { field, setOptions } from "./dom.js";
import type { FilterFields, FilterPrefill } from "./operator-forms.js";

export interface OperatorDialogContext {
  client: AdminClient;
  /** Runs an API call, asking for the token and trying again while the API answers 401. */
  withToken<T>(call: () => Promise<T>): Promise<T>;
  /** After a change: tell the page, refresh it. */
  changed(message: string): void;
}

/** What a change would do, and whether it can be made. */
export interface ChangeDescription {
  message: string;
  confirmable: boolean;
  /** The confirm button's label, if not the one the page gives it. */
  confirmLabel?: string;
  /** Keeps what the confirmation needs (a dry run's time): run only for the description shown. */
  keep?: () => void;
}

/**
 * An operator's change in two steps: the first submit button says what the change would do, and
 * only then does the confirm button (`value="confirm"`) make it, as it was described. Editing a
 * field takes the confirmation back, also from a description still on its way.
 */
export abstract class TwoStepDialog {
  protected readonly form: HTMLFormElement;
  private readonly confirm: HTMLButtonElement;
  private readonly confirmLabel: string;
  private readonly outcome: HTMLElement;
  /** Counts the edits of the form: a description asked for before the last one is stale. */
  private edits = 0;

  constructor(
    private readonly dialog: HTMLDialogElement,
    protected readonly context: OperatorDialogContext,
  ) {
    this.form = dialog.querySelector("form")!;
    this.confirm = this.form.querySelector('button[value="confirm"]')!;
    this.confirmLabel = this.confirm.textContent ?? "";
    this.outcome = dialog.querySelector("[role=status]")!;
    this.form.addEventListener("input", () => {
      this.edits++;
      this.unconfirm("");
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const step = (event.submitter as HTMLButtonElement | null)?.value;
      void (step === "confirm" ? this.makeChange() : this.describeChange());
    });
    dialog.querySelector("[data-close]")!.addEventListener("click", () => dialog.close());
  }

  /** Says what the change would do, and whether it can be made. */
  protected abstract check(): ChangeDescription | Promise<ChangeDescription>;

  /** Shown while `check` is on its way. */
  protected readonly checking: string = "";

  /** Makes the change; resolves with what the page tells about it. */
  protected abstract change(): Promise<string>;

  /** Resets the form and sets its target (one of `targets`) and filters from `prefill`. */
  protected fillFilters(targets: readonly string[], prefill: FilterPrefill): void {
    this.form.reset();
    setOptions(field<HTMLSelectElement>(this.form, "target"), targets, prefill.target ?? targets[0] ?? "");
    field<HTMLInputElement>(this.form, "reason").value = prefill.reason ?? "";
    field<HTMLInputElement>(this.form, "exactReason").checked = prefill.exactReason === true;
    field<HTMLInputElement>(this.form, "status").value = prefill.status === undefined ? "" : String(prefill.status);
  }

  /** The target and filters as typed. */
  protected filterFields(): FilterFields {
    const value = (name: string) => field(this.form, name).value;
    return {
      target: value("target"),
      reason: value("reason"),
      exactReason: field<HTMLInputElement>(this.form, "exactReason").checked,
      status: value("status"),
    };
  }

  /** Opens the dialog, its fields set by the caller, nothing confirmed. */
  protected show(): void {
    this.edits++;
    this.unconfirm("");
    this.dialog.showModal();
  }

  private unconfirm(message: string, problem = false): void {
    this.confirm.disabled = true;
    this.confirm.textContent = this.confirmLabel;
    this.outcome.textContent = message;
    this.outcome.classList.toggle("bad", problem);
  }

  private async describeChange(): Promise<void> {
    const edit = this.edits;
    this.unconfirm(this.checking);
    let description: ChangeDescription;
    try {
      description = await this.check();
    } catch (error) {
      if (edit === this.edits) this.unconfirm((error as Error).message, true);
      return;
    }
    // The fields changed meanwhile: confirming would make a change nobody was shown.
    if (edit !== this.edits) return;
    description.keep?.();
    if (!description.confirmable) {
      this.unconfirm(description.message);
      return;
    }
    this.outcome.textContent = description.message;
    this.outcome.classList.remove("bad");
    this.confirm.textContent = description.confirmLabel ?? this.confirmLabel;
    this.confirm.disabled = false;
  }

  private async makeChange(): Promise<void> {
    this.confirm.disabled = true;
    try {
      const message = await this.change();
      this.dialog.close();
      this.context.changed(message);
    } catch (error) {
      this.unconfirm((error as Error).message, true);
    }
  }
}
