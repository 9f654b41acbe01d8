import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ListenAddrError, parseListenAddr } from "./listen-addr.js";

describe("parseListenAddr", () => {
  it("parses host:port, [ipv6]:port and :port", () => {
    assert.deepEqual(parseListenAddr("127.0.0.1:12345"), { host: "127.0.0.1", port: 12345 });
    assert.deepEqual(parseListenAddr("0.0.0.0:0"), { host: "0.0.0.0", port: 0 });
    assert.deepEqual(parseListenAddr("localhost:80"), { host: "localhost", port: 80 });
    assert.deepEqual(parseListenAddr("[::1]:12345"), { host: "::1", port: 12345 });
    assert.deepEqual(parseListenAddr("[::]:65535"), { host: "::", port: 65535 });
    assert.deepEqual(parseListenAddr(":12345"), { host: "", port: 12345 });
  });

  it("rejects malformed addresses with a ListenAddrError naming them", () => {
    for (const bad of ["12345", "host:", "host:http", "host:65536", "host:-1", "::1:80", "[::1:80", "[::1]]:80", "a b:80"]) {
      assert.throws(
        () => parseListenAddr(bad),
        (error: unknown) => error instanceof ListenAddrError && error.listenAddr === bad && error.message.includes(`"${bad}"`),
        bad,
      );
    }
  });
});
