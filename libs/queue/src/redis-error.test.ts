import assert from "node:assert/strict";
import { test } from "node:test";
import { ReplyError } from "ioredis";
import { isRedisError } from "./redis-error.js";

test("Redis' error replies and ioredis' failures to reach it are Redis errors; anything else is not", () => {
  for (const error of [
    new ReplyError("LOADING Redis is loading the dataset in memory"),
    new ReplyError("READONLY You can't write against a read only replica."),
    new Error("Connection is closed."),
    new Error("Command timed out"),
    new Error("Too many Cluster redirections. Last error: Error: CLUSTERDOWN The cluster is down"),
    Object.assign(new Error("Failed to refresh slots cache."), { name: "ClusterAllFailedError" }),
  ]) {
    assert.equal(isRedisError(error), true, String(error));
  }
  for (const error of [new TypeError("Cannot read properties of undefined"), new Error("a bug in a delivery"), "Connection is closed.", undefined]) {
    assert.equal(isRedisError(error), false, String(error));
  }
});
