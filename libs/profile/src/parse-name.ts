import { InvalidNameError } from "./errors.js";
import { appNameProblem, labelNameProblem } from "./label-name.js";
import { appLabel } from "./label-set.js";
import { labelLimitProblem } from "./label-limits.js";

/** An /ingest `name` such as `my-app{env=prod,region=eu}`: the application and its labels. */
export interface ParsedName {
  app: string;
  /** Label names to values, without the application (`__name__`). */
  labels: Map<string, string>;
}

type State = "app" | "key" | "value" | "done";

/**
 * Parses `<app>{k1=v1,k2=v2}` exactly as Pyroscope's labelset parser does, quirks included:
 * - the app (before the first `{`) is trimmed and must match `[A-Za-z0-9_./-]+`;
 * - a pair ends at `,` or `}`; its key is trimmed and must match `[A-Za-z0-9_.]+`, its value is
 *   trimmed and may hold anything else (`=`, `{`, spaces); the last duplicate wins;
 * - text without `=` is not a key until an `=` follows: `{a}` is ignored, yet `{a,b=1}` reads the
 *   key `a,b` and fails; a pair left open at the end is dropped;
 * - `}` right after a value does not stop the parser (`{a=1}b=2}` yields b too); a `}` where a
 *   key should start does, and everything after it is ignored.
 * A `__name__` key replaces the app; unlike Pyroscope's parser (which takes it unchecked) it must
 * then be a valid app name, so the result can always be written back.
 */
export function parseName(name: string): ParsedName {
  let state: State = "app";
  let app = "";
  let key = "";
  let text = "";
  const labels = new Map<string, string>();
  // The appended `{` ends the app when the name has no labels, as in Pyroscope.
  for (const rune of `${name}{`) {
    if (state === "done") break;
    if (state === "app") {
      if (rune === "{") {
        app = checkedApp(trimSpace(text));
        state = "key";
      } else {
        text += rune;
      }
    } else if (state === "key") {
      if (rune === "}") {
        state = "done";
      } else if (rune === "=") {
        text = "";
        state = "value";
      } else {
        key += rune;
      }
    } else if (rune === "," || rune === "}") {
      const label = trimSpace(key);
      const value = trimSpace(text);
      if (label === appLabel) {
        app = checkedApp(value);
      } else {
        const problem = labelNameProblem(label);
        if (problem !== undefined) throw new InvalidNameError(`name: ${problem}`);
        labels.set(label, value);
      }
      key = "";
      state = "key";
    } else {
      text += rune;
    }
  }
  const problem = labelLimitProblem(labels);
  if (problem !== undefined) throw new InvalidNameError(`name: ${problem}`);
  return { app, labels };
}

function checkedApp(app: string): string {
  const problem = appNameProblem(app);
  if (problem !== undefined) throw new InvalidNameError(`name: ${problem}`);
  return app;
}

// Go's strings.TrimSpace (unicode.IsSpace): unlike String.prototype.trim it strips U+0085 and
// keeps U+FEFF.
const goSpace = "[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";
const surroundingSpace = new RegExp(`^${goSpace}+|${goSpace}+$`, "g");

function trimSpace(text: string): string {
  return text.replace(surroundingSpace, "");
}
