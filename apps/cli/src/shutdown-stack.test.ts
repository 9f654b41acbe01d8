import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, test, type TestContext } from "node:test";
import { createLogger } from "@pyroscope-relay/ops";
import { createRedisConnection, waitForRedis } from "@pyroscope-relay/queue";
import { pollUntil, startRedisServer } from "@pyroscope-relay/testing";
import { QUIT_MS, track, type ShutdownStack } from "./shutdown-stack.js";

const server = await startRedisServer();
after(() => server.stop());

/** A worker's connection, tracked on a fresh stack: it retries its commands for ever (BullMQ's requirement). */
async function trackedWorkerConnection(t: TestContext) {
  const stack: ShutdownStack = [];
  const connection = track(createRedisConnection(server.url, "worker"), stack, createLogger({ level: "silent" }));
  t.after(() => connection.disconnect());
  await waitForRedis(connection, 2_000);
  /** Runs the stack as shutdown does; resolves with how long it took. */
  const shutdown = async () => {
    const started = Date.now();
    for (const stop of stack.reverse()) await stop();
    return Date.now() - started;
  };
  return { connection, shutdown };
}

test("a connection to a Redis that is gone closes at once at shutdown, with commands waiting in its queue", async (t) => {
  const { connection, shutdown } = await trackedWorkerConnection(t);
  await server.kill();
  let restarted = false;
  t.after(() => (restarted ? undefined : server.restart()));
  await pollUntil("the connection to notice", () => connection.status !== "ready");
  void connection.get("waiting-for-redis").catch(() => undefined);
  const took = await shutdown();
  assert.ok(took < QUIT_MS / 4, `closed after ${took} ms: a QUIT it cannot send is not waited for`);
  await server.restart();
  restarted = true;
  await sleep(1_000);
  assert.notEqual(connection.status, "ready", "closed for good: it does not come back with Redis");
});

test("a connection to a Redis that stopped answering closes after QUIT_MS at most", async (t) => {
  const { connection, shutdown } = await trackedWorkerConnection(t);
  const pid = Number(/process_id:(\d+)/.exec(await connection.info("server"))?.[1]);
  process.kill(pid, "SIGSTOP");
  try {
    const took = await shutdown();
    assert.ok(took >= QUIT_MS - 100 && took < QUIT_MS + 1_000, `closed after ${took} ms`);
  } finally {
    process.kill(pid, "SIGCONT");
  }
  await sleep(500);
  assert.notEqual(connection.status, "ready", "closed for good: it does not come back once Redis answers");
});
