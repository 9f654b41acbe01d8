import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { gzippedPprof, startFakeTarget, startRedisServer, freePort } from "@pyroscope-relay/testing";
import type { FakeTarget, RedisServerHandle } from "@pyroscope-relay/testing";
import type { Redis } from "ioredis";
import type { RelayProcess } from "../e2e/support/relay-process.js";
import { eventually } from "./support/check.js";
import { ledgerFor } from "./support/ledger.js";
import type { TargetLedger } from "./support/ledger.js";
import { request } from "./support/raw-http.js";
import { failedJobs, inspect, relayConfig, startRelay } from "./support/relay.js";

const password = "pw-F4ULT-basic-s3cret";
const bearer = "tok-F4ULT-bearer-s3cret";
const credentials = "cred-F4ULT-authorization-s3cret";
const header = "hdr-F4ULT-http-headers-s3cret";
const proxyPassword = "proxy-F4ULT-password-s3cret";
const connectHeader = "connect-F4ULT-header-s3cret";
const clientSecret = "oauth-F4ULT-client-s3cret";
const secrets = [
  password,
  bearer,
  Buffer.from(`relay:${password}`).toString("base64"),
  credentials,
  header,
  proxyPassword,
  Buffer.from(`relay:${proxyPassword}`).toString("base64"),
  connectHeader,
  clientSecret,
];
// Two attempts, quickly: the failures must happen, and be logged, within the test.
const retries = `    max_backoff_retries = 2
    min_backoff_period  = "100ms"
    max_backoff_period  = "200ms"`;
const basicAuth = `    basic_auth {
      username = "relay"
      password = "${password}"
    }`;

function ingestPath(id: string): string {
  return `/ingest?name=${encodeURIComponent(`fault{fid=${id}}`)}&format=pprof`;
}

describe("fault 8: credentials never reach the output", () => {
  let redis: RedisServerHandle;
  let a: FakeTarget;
  let b: FakeTarget;
  let ledgers: TargetLedger[];
  let relay: RelayProcess;
  let client: Redis;
  let base: string;

  before(async () => {
    redis = await startRedisServer({ appendonly: true, appendfsync: "everysec" });
    a = await startFakeTarget();
    b = await startFakeTarget();
    ledgers = [ledgerFor("a", a), ledgerFor("b", b)];
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const config = relayConfig({
      port,
      targets: [
        { name: "a", url: a.url, endpoint: `${retries}\n${basicAuth}` },
        { name: "b", url: b.url, endpoint: `${retries}\n    bearer_token = "${bearer}"` },
        // Nobody listens there: connection errors are logged too.
        { name: "gone", url: `http://127.0.0.1:${await freePort()}`, endpoint: `${retries}\n${basicAuth}` },
        // Through a proxy nobody runs, with every other kind of secret the endpoint takes.
        {
          name: "proxied",
          url: a.url,
          endpoint: `${retries}
    authorization {
      credentials = "${credentials}"
    }
    http_headers = { "X-Secret" = ["${header}"] }
    proxy_url = "http://relay:${proxyPassword}@127.0.0.1:${await freePort()}"
    proxy_connect_header = { "Proxy-Token" = ["${connectHeader}"] }`,
        },
        // An OAuth2 token endpoint nobody runs.
        {
          name: "oauth",
          url: b.url,
          endpoint: `${retries}
    oauth2 {
      client_id     = "relay"
      client_secret = "${clientSecret}"
      token_url     = "http://127.0.0.1:${await freePort()}/token"
    }`,
        },
      ],
    });
    relay = await startRelay("run", config, redis, ["--log.level=debug"]);
    client = inspect(redis);
  });

  after(async () => {
    client?.disconnect();
    await relay?.stop();
    await a?.close();
    await b?.close();
    await redis?.stop();
  });

  it("basic-auth password and bearer token stay out of logs and failure reasons, at debug, on failed deliveries", async (t) => {
    for (const l of ledgers) {
      l.answer((id) => (id?.startsWith("secret-") ? { status: l.name === "a" ? 401 : 500, body: "delivery refused" } : undefined));
    }
    for (const id of ["ok-1", "secret-1", "secret-2"]) {
      assert.equal((await request(`${base}${ingestPath(id)}`, { body: gzippedPprof({ seed: 85 }) })).status, 200);
    }
    const failed = async (target: string) => (await failedJobs(client, target)).length;
    assert.ok(await eventually(async () => (await failed("a")) === 2 && (await failed("b")) === 2, 30_000), "the deliveries failed for good");
    // An unreachable target may pause its queue rather than fail jobs: its errors only need to be logged.
    assert.ok(await eventually(() => relay.output().includes("ECONNREFUSED"), 30_000), "the unreachable target's errors are logged");
    for (const target of ["proxied", "oauth"]) {
      assert.ok(await eventually(() => relay.output().includes(`"target":"${target}"`), 30_000), `${target}'s failures are logged`);
    }
    // The credentials really are in use: they are just never printed.
    assert.ok(await eventually(() => ledgers.every((l) => l.accepted.has("ok-1")), 10_000));
    const sentWith = (target: FakeTarget) => target.requests.find((r) => r.query.includes("ok-1"))!.headers.authorization;
    assert.equal(sentWith(a), `Basic ${secrets[2]}`);
    assert.equal(sentWith(b), `Bearer ${bearer}`);

    const output = relay.output();
    const reasons = (await Promise.all(["a", "b"].map((target) => failedJobs(client, target)))).flat().map((j) => j.failedReason);
    const debugLines = output.split("\n").filter((line) => line.includes('"level":20')).length;
    t.diagnostic(`${output.split("\n").length} log lines (${debugLines} at debug); failure reasons: ${JSON.stringify([...new Set(reasons)])}`);
    assert.match(output, /delivery failed/, "the failures were logged");
    for (const secret of secrets) {
      assert.ok(!output.includes(secret), `the output shows ${secret}`);
      assert.ok(!reasons.some((reason) => reason.includes(secret)), `a failure reason shows ${secret}`);
    }
  });
});
