import { test } from "node:test";
import assert from "node:assert/strict";
import { ComponentReference } from "./component-reference.js";
import { receiveHttpSchema } from "./receive-http-schema.js";

const receiver = new ComponentReference(["pyroscope", "write", "a", "receiver"]);

test("fills in every http default when the block is omitted", () => {
  assert.deepEqual(receiveHttpSchema.parse({ forward_to: [receiver] }), {
    http: {
      listen_address: "",
      listen_port: 8080,
      conn_limit: 100,
      server_read_timeout: 30_000,
      server_write_timeout: 30_000,
      server_idle_timeout: 120_000,
    },
    forward_to: [receiver],
  });
});

test("fills in the defaults of attributes left out of the http block", () => {
  const { http } = receiveHttpSchema.parse({ http: [{ listen_port: 9999 }], forward_to: [receiver] });
  assert.equal(http.listen_port, 9999);
  assert.equal(http.conn_limit, 100);
});

test("rejects unknown attributes, non-references and an empty forward_to", () => {
  const codes = (data: unknown) => receiveHttpSchema.safeParse(data).error?.issues.map((i) => [i.path.join("."), i.code]);
  assert.deepEqual(codes({ http: [{ port: 1 }], forward_to: [receiver] }), [["http.0", "unrecognized_keys"]]);
  assert.deepEqual(codes({ forward_to: ["pyroscope.write.a.receiver"] }), [["forward_to.0", "custom"]]);
  assert.deepEqual(codes({ forward_to: [] }), [["forward_to", "too_small"]]);
  assert.deepEqual(codes({}), [["forward_to", "invalid_type"]]);
});
