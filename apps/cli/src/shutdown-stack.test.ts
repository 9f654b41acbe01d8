import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, test, type TestContext } from "node:test";
import { createLogger } from "@pyroscope-relay/ops";
import { createRedisConnection, type RedisConnection, waitForRedis } from "@pyroscope-relay/queue";
import { pollUntil, startRedisServer } from "@pyroscope-relay/testing";
import { QUIT_MS, redisAnswering, track, type ShutdownStack } from "./shutdown-stack.js";

const server = await startRedisServer();
after(() => server.stop());

/** Two workers' connections, tracked on a fresh stack: they retry their commands for ever (BullMQ's requirement). */
async function trackedWorkerConnections(t: TestContext) {
  const stack: ShutdownStack = [];
  const connections = [0, 1].map(() => track(createRedisConnection(server.url, "worker"), stack, createLogger({ level: "silent" })));
  t.after(() => {
    for (const connection of connections) connection.disconnect();
  });
  await Promise.all(connections.map((connection) => waitForRedis(connection, 2_000)));
  /** Runs the stack as shutdown does; resolves with how long it took. */
  const shutdown = async () => {
    const started = Date.now();
    for (const stop of stack.reverse()) await stop();
    return Date.now() - started;
  };
  return { connections, stack, shutdown };
}

/** The shutdown waited QUIT_MS once, and told the rest of the stack that Redis did not answer. */
function assertWaitedOnce(took: number, stack: ShutdownStack): void {
  assert.ok(took >= QUIT_MS - 100 && took < QUIT_MS + 1_000, `closed after ${took} ms`);
  assert.equal(redisAnswering(stack), false, "the rest of the shutdown knows Redis did not answer");
}

/** `settleMs` after Redis answers again, no connection is back: the shutdown closed them for good. */
async function assertClosedForGood(connections: readonly RedisConnection[], settleMs: number): Promise<void> {
  await sleep(settleMs);
  assert.deepEqual(
    connections.map((connection) => connection.status === "ready"),
    connections.map(() => false),
    "closed for good: they do not come back with Redis",
  );
}

test("with Redis gone and commands waiting in the connections' queues, the shutdown waits QUIT_MS once, not once per connection", async (t) => {
  const { connections, stack, shutdown } = await trackedWorkerConnections(t);
  await server.kill();
  let restarted = false;
  t.after(() => (restarted ? undefined : server.restart()));
  await pollUntil("the connections to notice", () => connections.every((connection) => connection.status !== "ready"));
  for (const connection of connections) void connection.get("waiting-for-redis").catch(() => undefined);
  assert.ok(redisAnswering(stack));
  const took = await shutdown();
  assertWaitedOnce(took, stack);
  await server.restart();
  restarted = true;
  await assertClosedForGood(connections, 1_000);
});

test("with Redis frozen, the shutdown waits QUIT_MS once", async (t) => {
  const { connections, stack, shutdown } = await trackedWorkerConnections(t);
  const pid = Number(/process_id:(\d+)/.exec(await connections[0]!.info("server"))?.[1]);
  process.kill(pid, "SIGSTOP");
  try {
    assertWaitedOnce(await shutdown(), stack);
  } finally {
    process.kill(pid, "SIGCONT");
  }
  await assertClosedForGood(connections, 500);
});

test("with Redis answering, every connection quits", async (t) => {
  const { connections, stack, shutdown } = await trackedWorkerConnections(t);
  const took = await shutdown();
  assert.ok(took < QUIT_MS, `closed after ${took} ms`);
  assert.ok(redisAnswering(stack));
  await pollUntil("both connections to end", () => connections.every((connection) => connection.status === "end"), { timeoutMs: 2_000 });
});
