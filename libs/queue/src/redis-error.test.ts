import assert from "node:assert/strict";
import { test } from "node:test";
import { ReplyError } from "ioredis";
import { isRedisError } from "./redis-error.js";

test("Redis' error replies for a state that passes and ioredis' failures to reach it are Redis errors; anything else is not", () => {
  for (const error of [
    new ReplyError("LOADING Redis is loading the dataset in memory"),
    new ReplyError("READONLY You can't write against a read only replica."),
    new ReplyError("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."),
    new ReplyError("OOM command not allowed when used memory > 'maxmemory'."),
    new ReplyError("NOREPLICAS Not enough good replicas to write."),
    new ReplyError("BUSY Redis is busy running a script."),
    new ReplyError("NOPERM User writer has no permissions to run the 'mget' command"),
    new Error("Connection is closed."),
    new Error("Command timed out"),
    new Error("Too many Cluster redirections. Last error: Error: CLUSTERDOWN The cluster is down"),
    Object.assign(new Error("Failed to refresh slots cache."), { name: "ClusterAllFailedError" }),
  ]) {
    assert.equal(isRedisError(error), true, String(error));
  }
  for (const error of [
    new ReplyError("WRONGTYPE Operation against a key holding the wrong kind of value script: 1a2b, on @user_script:12."),
    new ReplyError("ERR user_script:40: attempt to perform arithmetic on a nil value script: 1a2b, on @user_script:40."),
    new ReplyError("CROSSSLOT Keys in request don't hash to the same slot"),
    new TypeError("Cannot read properties of undefined"),
    new Error("a bug in a delivery"),
    "Connection is closed.",
    undefined,
  ]) {
    assert.equal(isRedisError(error), false, String(error));
  }
});
