import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { commandNames, flagsOf, flagSynopsis, flagTable, SettingsError } from "@pyroscope-relay/config";
import { UsageError } from "../usage-error.js";
import { commandHelp, commandList, generalHelp, usageHint } from "./help.js";

/** Help's flag entries: each flag's synopsis and its description with the wrapped lines joined. */
function flagEntries(help: string): Map<string, string> {
  const entries = new Map<string, string>();
  let current: string | undefined;
  for (const line of help.split("\n")) {
    const head = /^ {2}(--\S+(?: [A-Z]+)?) {2,}(.*)$/.exec(line);
    if (head) {
      current = head[1]!;
      entries.set(current, head[2]!);
    } else if (current !== undefined && /^ {4,}\S/.test(line)) {
      entries.set(current, `${entries.get(current)} ${line.trim()}`);
    } else {
      current = undefined;
    }
  }
  return entries;
}

test("a command's help lists exactly the flags it takes, its own among them", () => {
  for (const command of commandNames) {
    assert.deepEqual([...flagEntries(commandHelp(command)).keys()], flagsOf(command).map(flagSynopsis), command);
  }
  const replay = commandHelp("replay");
  assert.match(replay, /^Usage: pyroscope-relay replay CONFIG --target NAME \[flags\]\n\nMove a target.s failed batches back to waiting/);
  assert.ok(flagEntries(replay).has("--dry-run"));
  assert.ok(!flagEntries(replay).has("--log.level"));
});

test("general help lists every command and every flag", () => {
  const help = generalHelp();
  for (const command of commandNames) assert.match(help, new RegExp(`^  ${command} CONFIG`, "m"));
  assert.deepEqual([...flagEntries(help).keys()], flagTable.map(flagSynopsis));
  assert.match(help, /pyroscope-relay --version/);
});

test("shows a flag's description without backticks, then its default and its variable", () => {
  const entries = flagEntries(generalHelp());
  assert.equal(
    entries.get("--target.backlog-full POLICY"),
    "a full target: drop the new profile for that target, or reject the request (429) (default: drop) [RELAY_TARGET_BACKLOG_FULL]",
  );
  assert.equal(entries.get("--limit N"), "replay at most N batches, oldest first (default: no limit)");
  assert.equal(entries.get("--dry-run"), "change nothing, print the same counts and the --as-of that acts on those batches alone");
  assert.equal(entries.get("--as-of TIME"), "only batches that had failed by TIME (RFC 3339, as a dry run prints it): none that failed since (default: now)");
});

test("wraps help at 100 columns, continuing under the description", () => {
  for (const help of [generalHelp(), ...commandNames.map(commandHelp)]) {
    for (const line of help.split("\n")) assert.ok(line.length <= 100, line);
  }
  const lines = commandHelp("purge").split("\n");
  const first = lines.findIndex((line) => line.startsWith("  --redis.cluster-nodes NODES"));
  const column = lines[first]!.indexOf("a Redis Cluster");
  assert.equal(lines[first + 1]!.search(/\S/), column);
});

test("the README's command list is help's", () => {
  const readme = readFileSync(new URL("../../../../README.md", import.meta.url), "utf8");
  const block = /^## Commands\n\n```\n([^`]*)```/m.exec(readme);
  assert.ok(block, "## Commands starts with a code block");
  assert.equal(block[1], commandList("pyroscope-relay "));
});

test("hints at the commands, or at the command's own help and where a misplaced flag belongs", () => {
  assert.equal(usageHint(undefined, new UsageError('unknown command "x"')), "Run 'pyroscope-relay help' for the commands.\n");
  assert.equal(usageHint("replay", new SettingsError("--bogus", "unknown flag")), "Run 'pyroscope-relay replay --help' for its flags.\n");
  assert.equal(
    usageHint("failed", new SettingsError("--log.level", "unknown flag")),
    "--log.level is a flag of run, ingest, writer, check. Run 'pyroscope-relay failed --help' for its flags.\n",
  );
  assert.equal(usageHint("replay", new SettingsError("--limit", "needs a value")), "Run 'pyroscope-relay replay --help' for its flags.\n");
  assert.equal(usageHint("replay", new SettingsError("RELAY_QUEUE_PREFIX", "must be non-empty")), "Run 'pyroscope-relay replay --help' for its flags.\n");
});
