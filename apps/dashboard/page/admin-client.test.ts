import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { AdminClient } from "./admin-client.js";

function memoryStorage() {
  const items = new Map<string, string>();
  return {
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  };
}

test("a reading the admin API never answers fails after the timeout, naming it", { timeout: 10_000 }, async (t) => {
  const held: import("node:http").ServerResponse[] = [];
  // Takes every request and answers none, as a server waiting on a stopped Redis does.
  const server = createServer((_req, res) => void held.push(res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    for (const res of held) res.destroy();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  const client = new AdminClient(new URL(`http://127.0.0.1:${port}/api/v1/`), memoryStorage(), 200);
  await assert.rejects(client.status(), { message: "the admin API did not answer GET status within 0.2 s" });
  await assert.rejects(client.failed(), /did not answer GET failed/);
  assert.equal(held.length, 2);
});
