import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createLogger } from "./logger.js";

function capture() {
  const lines: string[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(line) } };
}

describe("createLogger", () => {
  it("writes JSON lines with the level, name and message", () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: "info", name: "ingest", destination });
    logger.info({ target: "primary" }, "started");
    logger.debug("below the level");
    assert.equal(lines.length, 1);
    const entry = JSON.parse(lines[0] ?? "");
    assert.equal(entry.level, 30);
    assert.equal(entry.name, "ingest");
    assert.equal(entry.msg, "started");
    assert.equal(entry.target, "primary");
  });

  it("never writes passwords, tokens or authorization headers", () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: "info", destination });
    logger.info(
      {
        password: "pw-top",
        token: "tok-top",
        bearer_token: "bearer-top",
        authorization: "Basic top-auth",
        basic_auth: { username: "alice", password: "pw-nested" },
        endpoint: { bearer_token: "bearer-nested", headers: { Authorization: "Bearer hdr-nested" } },
        headers: { authorization: "Bearer hdr-top", "x-scope-orgid": "tenant-1" },
        req: { method: "POST", headers: { authorization: "Bearer req-hdr" } },
      },
      "configuration loaded",
    );
    const line = lines.join("");
    for (const secret of ["pw-", "tok-top", "bearer-", "top-auth", "hdr-", "req-hdr"]) {
      assert.ok(!line.includes(secret), `${secret} leaked into ${line}`);
    }
    const entry = JSON.parse(line);
    assert.equal(entry.basic_auth.username, "alice");
    assert.equal(entry.basic_auth.password, "[REDACTED]");
    assert.equal(entry.headers["x-scope-orgid"], "tenant-1");
    assert.equal(entry.req.method, "POST");
  });

  it("never writes the secrets a target's configuration holds", () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: "info", destination });
    const target = {
      name: "eu",
      url: "https://pyroscope.example",
      auth: { kind: "oauth2", clientId: "relay", clientSecret: "oauth-secret", tokenUrl: "https://idp.example/token" },
      tls: { key: "-----BEGIN PRIVATE KEY----- key-secret", insecureSkipVerify: false },
      httpHeaders: { "X-Api-Key": ["header-secret"] },
      proxy: { kind: "url", url: "http://relay:proxy-secret@proxy:3128", connectHeaders: { "Proxy-Token": ["connect-secret"] } },
    };
    logger.info({ target }, "target configured");
    logger.info(target, "target configured");
    logger.info({ target: { name: "us", auth: { kind: "basic", username: "relay", password: "basic-secret" } } }, "target configured");
    const line = lines.join("");
    for (const secret of ["oauth-secret", "basic-secret", "key-secret", "header-secret", "proxy-secret", "connect-secret"]) {
      assert.ok(!line.includes(secret), `${secret} leaked into ${line}`);
    }
    assert.match(line, /"url":"https:\/\/pyroscope.example"/, "the target's own URL stays");
  });

  it("never writes the arguments of a failed Redis AUTH that ioredis attaches to its errors", () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: "info", destination });
    const err = Object.assign(new Error("WRONGPASS invalid username-password pair"), { command: { name: "auth", args: ["relay", "redis-secret"] } });
    logger.warn({ err }, "worker error");
    assert.ok(!lines.join("").includes("redis-secret"), lines.join(""));
    assert.match(lines.join(""), /WRONGPASS/);
  });

  it("nor those of a cluster node's, a cause's or an aggregate's errors, at any depth", () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: "info", destination });
    const auth = (secret: string) =>
      Object.assign(new Error("WRONGPASS invalid username-password pair"), { command: { name: "auth", args: ["relay", secret] } });
    const cluster = Object.assign(new Error("Failed to refresh slots cache."), { lastNodeError: auth("node-secret") });
    const caused = new Error("could not start", { cause: cluster });
    const aggregate = new AggregateError([auth("aggregate-secret")], "all nodes failed");
    logger.warn({ err: cluster }, "connection lost");
    logger.warn({ err: caused }, "connection lost");
    logger.warn({ err: aggregate }, "connection lost");
    const line = lines.join("");
    for (const secret of ["node-secret", "aggregate-secret"]) assert.ok(!line.includes(secret), `${secret} leaked into ${line}`);
    assert.deepEqual(cluster.lastNodeError.command.args, ["relay", "node-secret"], "the caller's error is left as it was");
    assert.match(line, /Failed to refresh slots cache/);
    assert.match(line, /"lastNodeError":\{[^}]*"command":\{"name":"auth","args":"\[REDACTED\]"\}/);
    assert.match(line, /"aggregateErrors":\[\{[^}]*"command":\{"name":"auth","args":"\[REDACTED\]"\}/);
  });

  it("cuts a TLS error's peer certificate to its names", () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: "info", destination });
    const cert = {
      subject: { CN: "localhost" },
      issuer: { CN: "redis-ca" },
      subjectaltname: "DNS:localhost",
      valid_to: "Dec  7 03:00:00 2026 GMT",
      raw: Buffer.alloc(1_500, 7),
      pubkey: Buffer.alloc(65, 9),
    };
    const err = Object.assign(new Error("Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list: "), {
      code: "ERR_TLS_CERT_ALTNAME_INVALID",
      host: "127.0.0.1",
      cert,
    });
    logger.warn({ err }, "Redis connection lost; reconnecting");
    logger.warn({ err: Object.assign(new Error("Failed to refresh slots cache."), { lastNodeError: err }) }, "Redis connection lost; reconnecting");
    const line = lines.join("");
    assert.equal(lines.length, 2);
    assert.doesNotMatch(line, /"raw"|"pubkey"/);
    for (const logged of lines) {
      assert.match(logged, /"cert":\{"subject":\{"CN":"localhost"\},"issuer":\{"CN":"redis-ca"\},"subjectaltname":"DNS:localhost","valid_to":"[^"]+"\}/);
    }
    assert.equal(cert.raw.length, 1_500, "the caller's error is left as it was");
  });
});
