import { readFile, stat } from "node:fs/promises";
import { DeliveryError } from "./delivery-error.js";

/** A configured value that may change while the writer runs: a secret or certificate read from a file. */
export interface Reloadable {
  read(): Promise<string>;
}

/** A value given in the configuration itself. */
export function fixedValue(value: string): Reloadable {
  const read = Promise.resolve(value);
  return { read: () => read };
}

/**
 * A file read again whenever it changes, so that a rotated secret or certificate is used without a
 * restart. Every read stats the file (size, times, inode: a rename over it counts) and reads it only
 * when that changed; reads that overlap share one stat.
 */
export class WatchedFile implements Reloadable {
  private known: { signature: string; value: string } | undefined;
  private checking: Promise<string> | undefined;

  /**
   * `attribute` names the file in errors (`bearer_token_file`); `clean` turns its contents into the
   * value (secrets lose the whitespace around them, as Alloy trims them).
   */
  constructor(
    private readonly path: string,
    private readonly attribute: string,
    private readonly clean: (contents: string) => string,
  ) {}

  read(): Promise<string> {
    return (this.checking ??= this.check().finally(() => {
      this.checking = undefined;
    }));
  }

  private async check(): Promise<string> {
    try {
      const info = await stat(this.path);
      const signature = `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
      if (this.known?.signature === signature) return this.known.value;
      this.known = { signature, value: this.clean(await readFile(this.path, "utf8")) };
      return this.known.value;
    } catch (error) {
      throw secretFileError(this.attribute, this.path, error);
    }
  }
}

/** A secret from a file when the configuration named one, else the configured value. */
export function secretSource(value: string, file: string | undefined, attribute: string): Reloadable {
  return file === undefined ? fixedValue(value) : new WatchedFile(file, attribute, (contents) => contents.trim());
}

/** A secret or certificate file the writer must read again cannot be read (removed, unreadable). */
function secretFileError(attribute: string, path: string, cause: unknown): DeliveryError {
  const code = (cause as { code?: unknown }).code;
  return new DeliveryError("secret file", `cannot read ${attribute} ${JSON.stringify(path)}: ${typeof code === "string" ? code : String(cause)}`, { cause });
}
