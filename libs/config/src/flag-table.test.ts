import { test } from "node:test";
import assert from "node:assert/strict";
import { commandNames, flagsOf, flagSynopsis, flagTable } from "./flag-table.js";

test("names every flag and variable once", () => {
  const names = flagTable.map((flag) => flag.name);
  assert.deepEqual(names, [...new Set(names)]);
  const variables = flagTable.flatMap((flag) => (flag.kind === "setting" && flag.env !== undefined ? [flag.env] : []));
  assert.deepEqual(variables, [...new Set(variables)]);
});

test("gives every flag to at least one command, and no command a flag twice", () => {
  for (const flag of flagTable) {
    assert.ok(flag.commands.length > 0, flag.name);
    assert.deepEqual(flag.commands, [...new Set(flag.commands)], flag.name);
  }
});

test("run, ingest, writer and check take the same settings, so that one set of flags serves every process", () => {
  const settingsOf = (command: (typeof commandNames)[number]) =>
    flagsOf(command).flatMap((flag) => (flag.kind === "setting" && flag.name !== "target" ? [flag.name] : []));
  const all = flagTable.flatMap((flag) => (flag.kind === "setting" && flag.name !== "target" ? [flag.name] : []));
  for (const command of ["run", "ingest", "writer", "check"] as const) assert.deepEqual(settingsOf(command), all, command);
});

test("lists a command's flags in the table's order", () => {
  assert.deepEqual(
    flagsOf("purge").map((flag) => flag.name),
    [
      "redis.url",
      "redis.cluster-nodes",
      "redis.tls-ca-file",
      "redis.tls-cert-file",
      "redis.tls-key-file",
      "redis.tls-server-name",
      "queue.prefix",
      "target.queue-shards",
      "target",
      "reason",
      "exact-reason",
      "status",
      "dry-run",
      "as-of",
      "older-than",
    ],
  );
  assert.deepEqual(flagsOf("replay").map(flagSynopsis), [
    "--redis.url URL",
    "--redis.cluster-nodes NODES",
    "--redis.tls-ca-file FILE",
    "--redis.tls-cert-file FILE",
    "--redis.tls-key-file FILE",
    "--redis.tls-server-name NAME",
    "--queue.prefix PREFIX",
    "--queue.payload-ttl DURATION",
    "--queue.failed-max-age DURATION",
    "--target.queue-shards N",
    "--target NAME",
    "--reason TEXT",
    "--exact-reason",
    "--status CODE",
    "--since DURATION",
    "--limit N",
    "--dry-run",
    "--as-of TIME",
  ]);
  assert.deepEqual(
    commandNames.filter((command) => flagsOf(command).some((flag) => flag.name === "json")),
    ["failed"],
  );
});
