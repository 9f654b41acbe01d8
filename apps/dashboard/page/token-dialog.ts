import { field } from "./dom.js";

/**
 * Asks for the admin token; resolves with what was typed once the dialog closes. Several callers that
 * meet a 401 at once share one question.
 */
export class TokenDialog {
  private pending: Promise<string> | undefined;

  constructor(private readonly dialog: HTMLDialogElement) {}

  ask(refused: boolean): Promise<string> {
    this.pending ??= new Promise<string>((resolve) => {
      const form = this.dialog.querySelector("form")!;
      const input = field<HTMLInputElement>(form, "token");
      this.dialog.querySelector("#token-message")!.textContent = refused
        ? "That token was refused. Enter the relay's admin token."
        : "This relay's admin API needs its token (--server.http.admin-token).";
      input.value = "";
      this.dialog.addEventListener(
        "close",
        () => {
          this.pending = undefined;
          resolve(input.value.trim());
        },
        { once: true },
      );
      this.dialog.showModal();
    });
    return this.pending;
  }
}
