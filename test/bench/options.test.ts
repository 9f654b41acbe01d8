import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseOptions, UsageError } from "./options.js";

describe("the bench's command line", () => {
  it("settles memory before each load unless told --memory cold", () => {
    assert.equal(parseOptions([]).memory, "settled");
    assert.equal(parseOptions(["--memory", "cold"]).memory, "cold");
    assert.equal(parseOptions(["--memory=settled"]).memory, "settled");
  });

  it("refuses another --memory, naming the flag and the value", () => {
    assert.throws(
      () => parseOptions(["--memory", "warm"]),
      (error: unknown) => error instanceof UsageError && /--memory: expected settled or cold, got "warm"/.test(error.message),
    );
  });

  it("keeps its defaults: 10 KiB bodies, 2 targets, 10 s, 32 connections, AOF fsynced always", () => {
    const options = parseOptions([]);
    assert.deepEqual(
      {
        bodySize: options.bodySize,
        targets: options.targets,
        durationS: options.durationS,
        connections: options.connections,
        appendfsync: options.persistence.appendfsync,
      },
      { bodySize: 10_240, targets: 2, durationS: 10, connections: 32, appendfsync: "always" },
    );
  });
});
