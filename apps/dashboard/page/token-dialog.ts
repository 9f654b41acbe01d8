import { field } from "./dom.js";

/** The operator dismissed the question for the admin token. */
export class TokenDeclinedError extends Error {
  override readonly name = "TokenDeclinedError";

  constructor() {
    super("the admin API needs its token, and none was given");
  }
}

/**
 * Asks for the admin token; resolves with what was typed once the dialog closes, or rejects with
 * `TokenDeclinedError` when it is dismissed (Cancel, Escape). Several callers that meet a 401 at
 * once share one question.
 */
export class TokenDialog {
  private pending: Promise<string> | undefined;

  constructor(private readonly dialog: HTMLDialogElement) {
    // Closes with an empty return value, as Escape does: dismissed. (Use token is the form's only
    // submit button, the one Enter presses.)
    dialog.querySelector("[data-close]")!.addEventListener("click", () => dialog.close());
  }

  ask(refused: boolean): Promise<string> {
    this.pending ??= new Promise<string>((resolve, reject) => {
      const form = this.dialog.querySelector("form")!;
      const input = field<HTMLInputElement>(form, "token");
      this.dialog.querySelector("#token-message")!.textContent = refused
        ? "That token was refused. Enter the relay's admin token."
        : "This relay's admin API needs its token (--server.http.admin-token).";
      input.value = "";
      // The submit button's value; Cancel and Escape leave it empty.
      this.dialog.returnValue = "";
      this.dialog.addEventListener(
        "close",
        () => {
          this.pending = undefined;
          const token = input.value.trim();
          if (this.dialog.returnValue === "use" && token !== "") resolve(token);
          else reject(new TokenDeclinedError());
        },
        { once: true },
      );
      this.dialog.showModal();
    });
    return this.pending;
  }
}
