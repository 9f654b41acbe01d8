import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { createContextValues } from "@connectrpc/connect";
import { connectRequest, refusedBody } from "./connect-request.js";
import { within } from "./test-harness.js";

test("a body that arrives a byte a read reaches connect-es in one block, every byte in order", async (t) => {
  const chunks: Uint8Array[] = [];
  const server = createServer((req, res) => {
    const { body } = connectRequest(req, res, createContextValues());
    void (async () => {
      for await (const chunk of body as AsyncIterable<Uint8Array>) chunks.push(chunk);
      res.end();
    })();
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  t.after(() => server.close());
  const socket = connect((server.address() as AddressInfo).port, "127.0.0.1");
  socket.setNoDelay(true).on("error", () => undefined);
  t.after(() => socket.destroy());
  const body = Buffer.from(Array.from({ length: 200 }, (_, i) => i));
  socket.write(`POST /push.v1.PusherService/Push HTTP/1.1\r\nHost: relay\r\nContent-Length: ${body.length}\r\n\r\n`);
  for (const byte of body) {
    // Apart in time: the server reads them one at a time, as from a client that drips its body.
    socket.write(Buffer.of(byte));
    await sleep(1);
  }
  await within(once(socket, "data"), 2_000, "the answer");
  assert.equal(chunks.length, 1, `${chunks.length} chunks`);
  assert.deepEqual(Buffer.concat(chunks), body);
});

test("a refused body fails with its error before a byte is read, and declares no length for connect-es to allocate", async () => {
  const request = {
    httpVersion: "1.1",
    method: "POST",
    url: "http://relay/push.v1.PusherService/Push",
    header: new Headers({ "content-type": "application/proto", "content-length": String(32 * 2 ** 20) }),
    body: (async function* () {
      yield new Uint8Array(1);
      assert.fail("the body is read");
    })(),
    signal: new AbortController().signal,
    values: createContextValues(),
  };
  const error = new Error("refused");
  const refused = refusedBody(request, error);
  assert.equal(refused.header.get("content-length"), null);
  assert.equal(refused.header.get("content-type"), "application/proto");
  assert.equal(request.header.get("content-length"), String(32 * 2 ** 20), "the request itself is left as it was");
  await assert.rejects((refused.body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]().next(), error);
});
