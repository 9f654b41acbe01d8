/** A bad command-line flag or environment variable; `setting` names it as the user wrote it. */
export class SettingsError extends Error {
  override readonly name = "SettingsError";

  constructor(
    readonly setting: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${setting}: ${reason}`, options);
  }
}
