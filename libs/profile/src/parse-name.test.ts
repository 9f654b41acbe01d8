import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidNameError } from "./errors.js";
import { appNameProblem, labelNameProblem } from "./label-name.js";
import { labelLimitProblem } from "./label-limits.js";
import { parseName } from "./parse-name.js";

const parsed = (app: string, labels: Record<string, string> = {}) => ({ app, labels: new Map(Object.entries(labels)) });

describe("parseName", () => {
  it("reads an app without labels", () => {
    assert.deepEqual(parseName("my-app"), parsed("my-app"));
    assert.deepEqual(parseName("my-app{}"), parsed("my-app"));
  });

  it("trims the app, keys and values the way Go's TrimSpace does", () => {
    assert.deepEqual(parseName(" \u0085app\u3000{ env = prod ,\ta= b c\n}"), parsed("app", { env: "prod", a: "b c" }));
    // U+FEFF is not a space to Go, so it stays and is then an invalid character.
    assert.throws(() => parseName("\ufeffapp"), /character is not allowed: '\\ufeff'/);
  });

  it("lets values hold anything but , and }", () => {
    assert.deepEqual(parseName("app{url=http://x/?a=b c,x={y}"), parsed("app", { url: "http://x/?a=b c", x: "{y" }));
  });

  it("keeps the last of duplicate keys and empty values", () => {
    assert.deepEqual(parseName("app{a=1,b=,a=2}"), parsed("app", { a: "2", b: "" }));
  });

  it("ignores a trailing key without =", () => {
    assert.deepEqual(parseName("app{a=1,flag}"), parsed("app", { a: "1" }));
    assert.deepEqual(parseName("app{flag}"), parsed("app"));
  });

  it("reads a key without = as part of the next key, as Pyroscope does", () => {
    assert.throws(() => parseName("app{flag,b=1}"), {
      name: "InvalidNameError",
      message: "name: invalid label name: flag,b: character is not allowed: ','",
    });
  });

  it("drops a pair left open at the end", () => {
    assert.deepEqual(parseName("app{a=1,b=2"), parsed("app", { a: "1" }));
  });

  it("stops at a } where a key starts, yet not at one closing a value", () => {
    assert.deepEqual(parseName("app{}b=2}"), parsed("app"));
    assert.deepEqual(parseName("app{a=1}trailing"), parsed("app", { a: "1" }));
    assert.deepEqual(parseName("app{a=1} b=2}"), parsed("app", { a: "1", b: "2" }));
    assert.throws(() => parseName("app{a=1}{b=2}"), { message: /invalid label name: \{b:/ });
  });

  it("lets __name__ replace the app, checked as an app", () => {
    assert.deepEqual(parseName("app{__name__=other-app,a=1}"), parsed("other-app", { a: "1" }));
    assert.throws(() => parseName("app{__name__=bad app}"), {
      message: "name: invalid service name: bad app: character is not allowed: ' '",
    });
  });

  it("requires an app", () => {
    for (const name of ["", "  ", "{a=1}"]) {
      assert.throws(
        () => parseName(name),
        (err: unknown) => {
          assert.ok(err instanceof InvalidNameError);
          assert.equal(err.message, "name: service name is required");
          return true;
        },
      );
    }
  });

  it("rejects a bad character in the app", () => {
    assert.throws(() => parseName("my-app!{a=1}"), {
      name: "InvalidNameError",
      message: "name: invalid service name: my-app!: character is not allowed: '!'",
    });
  });

  it("rejects bad and empty label names", () => {
    assert.throws(() => parseName("app{a-b=1}"), {
      message: "name: invalid label name: a-b: character is not allowed: '-'",
    });
    assert.throws(() => parseName("app{=1}"), { message: "name: label name is required" });
  });

  it("reads every name as Pyroscope's parser does, rune by rune", () => {
    // Random names of the characters that matter (delimiters, Go's spaces, a surrogate pair,
    // characters a name may not hold), against a transcription of Pyroscope's state machine: the
    // same labels, or the same error.
    const pieces = ["a", "b", "x1", "_", ".", "-", "{", "}", "}", "=", "=", ",", ",", " ", "\t", "\u3000", "\ufeff", "😀", "__name__", "service_name", "!"];
    let seed = 7;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 16) % n;
    };
    for (let run = 0; run < 5_000; run++) {
      // Most start as a valid name does, so that the labels, not the app, decide the outcome.
      const start = random(4) === 0 ? "" : "app{";
      const name = start + Array.from({ length: 1 + random(16) }, () => pieces[random(pieces.length)]).join("");
      assert.deepEqual(
        outcome(() => parseName(name)),
        outcome(() => runeByRune(name)),
        JSON.stringify(name),
      );
    }
  });
});

function outcome(parse: () => unknown): unknown {
  try {
    return parse();
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/** Pyroscope's labelset parser as it reads a name: one rune at a time through four states. */
function runeByRune(name: string): { app: string; labels: Map<string, string> } {
  const trim = (text: string) =>
    text.replace(
      /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g,
      "",
    );
  const checkedApp = (app: string) => {
    const problem = appNameProblem(app);
    if (problem !== undefined) throw new InvalidNameError(`name: ${problem}`);
    return app;
  };
  let state: "app" | "key" | "value" | "done" = "app";
  let app = "";
  let key = "";
  let text = "";
  const labels = new Map<string, string>();
  for (const rune of `${name}{`) {
    if (state === "done") break;
    if (state === "app") {
      if (rune === "{") {
        app = checkedApp(trim(text));
        state = "key";
      } else text += rune;
    } else if (state === "key") {
      if (rune === "}") state = "done";
      else if (rune === "=") {
        text = "";
        state = "value";
      } else key += rune;
    } else if (rune === "," || rune === "}") {
      const label = trim(key);
      const value = trim(text);
      if (label === "__name__") app = checkedApp(value);
      else {
        const problem = labelNameProblem(label);
        if (problem !== undefined) throw new InvalidNameError(`name: ${problem}`);
        labels.set(label, value);
      }
      key = "";
      state = "key";
    } else text += rune;
  }
  const problem = labelLimitProblem(labels);
  if (problem !== undefined) throw new InvalidNameError(`name: ${problem}`);
  return { app, labels };
}
