import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { commandNames, flagSynopsis, flagTable } from "./flag-table.js";
import type { Flag } from "./flag-table.js";

const header = ["flag", "environment", "default", "commands", "what"];

/** The row the README must have for a flag: literal values in backticks, as the table writes them. */
function expectedRow(flag: Flag): string[] {
  const env = flag.kind === "setting" && flag.env !== undefined ? `\`${flag.env}\`` : "";
  const shownDefault = flag.kind === "switch" ? "" : "default" in flag ? `\`${flag.default}\`` : flag.unset;
  const commands = flag.commands.length === commandNames.length ? "all" : flag.commands.join(", ");
  return [`\`${flagSynopsis(flag)}\``, env, shownDefault, commands, flag.description];
}

/** The rows of the first table under `## Commands` whose header is `header`, as trimmed cells. */
function readmeRows(readme: string): string[][] {
  const section = readme.split(/^## /m).find((part) => part.startsWith("Commands\n"));
  assert.ok(section, "README.md has a ## Commands section");
  const lines = section.split("\n");
  const start = lines.findIndex((line) => line.startsWith("|") && cells(line).join() === header.join());
  assert.notEqual(start, -1, `## Commands has a table headed | ${header.join(" | ")} |`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(cells(line));
  }
  return rows;
}

function cells(line: string): string[] {
  return line
    .replace(/^\||\|$/g, "")
    .split("|")
    .map((cell) => cell.trim());
}

test("the README's flag table is the flag table: every flag, in order, with its variable, default, commands and description", () => {
  const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
  assert.deepEqual(readmeRows(readme), flagTable.map(expectedRow));
});

test("no description would break a markdown table", () => {
  for (const flag of flagTable) assert.doesNotMatch(flag.description, /[|\n]/, flag.name);
});
