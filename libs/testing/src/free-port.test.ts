import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:net";
import { bindable, fetchable, freePort } from "./free-port.js";

async function bindAndClose(port: number): Promise<void> {
  const server = createServer().listen(port, "127.0.0.1");
  await once(server, "listening");
  await new Promise((resolve) => server.close(resolve));
}

describe("freePort", () => {
  it("skips the ports that Node's fetch refuses, so that tests can probe what listens there", async () => {
    await assert.rejects(fetch("http://127.0.0.1:10080/"), (error: Error) => (error.cause as Error | undefined)?.message === "bad port");
    assert.equal(fetchable(10_080), false);
    assert.equal(fetchable(10_081), true);
  });

  it("never hands out a port twice, and each one binds", async () => {
    const ports: number[] = [];
    for (let i = 0; i < 100; i++) ports.push(await freePort());
    assert.equal(new Set(ports).size, ports.length);
    for (const port of ports) await bindAndClose(port);
  });

  it("never hands out one port to two concurrent calls", async () => {
    const ports = await Promise.all(Array.from({ length: 200 }, (_, i) => freePort({ companionOffset: i % 2 === 0 ? 0 : 10_000 })));
    const held = ports.flatMap((port, i) => (i % 2 === 0 ? [port] : [port, port + 10_000]));
    assert.equal(new Set(held).size, held.length);
  });

  it("stays below Linux' default ephemeral range, which servers on port 0 draw from", async () => {
    for (let i = 0; i < 100; i++) {
      const port = await freePort({ companionOffset: i % 2 === 0 ? 0 : 10_000 });
      assert.ok(port >= 1_024 && port < 32_768, String(port));
    }
  });

  it("holds the companion port too, free and never handed out on its own", async () => {
    const ports = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const port = await freePort({ companionOffset: 10_000 });
      assert.ok(!ports.has(port) && !ports.has(port + 10_000));
      ports.add(port).add(port + 10_000);
      await bindAndClose(port + 10_000);
    }
    for (let i = 0; i < 100; i++) assert.ok(!ports.has(await freePort()));
  });

  it("counts a port taken on ::1 alone as taken: a TLS test server binds ::1 too", async (t) => {
    const taken = createServer().listen(0, "::1");
    const listening = await once(taken, "listening").then(
      () => true,
      () => false,
    );
    if (!listening) return t.skip("no IPv6 loopback here");
    const { port } = taken.address() as { port: number };
    t.after(() => taken.listening && taken.close());
    assert.equal(await bindable([port]), false);
    await new Promise((resolve) => taken.close(resolve));
    assert.equal(await bindable([port]), true);
  });
});
