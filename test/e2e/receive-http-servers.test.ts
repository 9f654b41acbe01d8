import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { request as httpsRequest } from "node:https";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { create, fromBinary, toBinary, toJsonString } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { DebuginfoService, PusherService, PushRequestSchema, ShouldInitiateUploadResponseSchema } from "@pyroscope-relay/proto";
import { gzippedPprof, startFakeTarget, startRedisServer, testPki, freePort } from "@pyroscope-relay/testing";
import type { FakeTarget, RedisServerHandle } from "@pyroscope-relay/testing";
import { startRelayProcess } from "./support/relay-process.js";
import type { RelayProcess } from "./support/relay-process.js";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const pushPath = "/push.v1.PusherService/Push";

/** A CA, a server certificate for 127.0.0.1 and a client certificate it signed, made by openssl now. */
const certificates = await testPki();
const authority = await certificates.authority("ca");
const pki = {
  ca: authority,
  server: await authority.issue("server", { names: ["127.0.0.1"] }),
  client: await authority.issue("client", { client: true }),
};

describe("pyroscope-relay run: receive_http over HTTPS with client certificates, h2c with gRPC, debuginfo passed through", () => {
  let redis: RedisServerHandle;
  let target: FakeTarget;
  let relay: RelayProcess;
  let tlsUrl: string;
  let h2cUrl: string;

  before(async () => {
    redis = await startRedisServer();
    target = await startFakeTarget();
    // Pyroscope's answers to the two debuginfo calls (binary Connect); everything else gets the default.
    target.respond((request) => {
      if (request.path.endsWith("/ShouldInitiateUpload")) {
        const body = toBinary(ShouldInitiateUploadResponseSchema, create(ShouldInitiateUploadResponseSchema, { shouldInitiateUpload: true }));
        return { status: 200, headers: { "content-type": "application/proto" }, body: Buffer.from(body) };
      }
      return request.path.endsWith("/UploadFinished") ? { status: 200, headers: { "content-type": "application/proto" } } : undefined;
    });
    const [tlsPort, h2cPort] = [await freePort(), await freePort()];
    tlsUrl = `https://127.0.0.1:${tlsPort}`;
    h2cUrl = `http://127.0.0.1:${h2cPort}`;
    relay = await startRelayProcess({
      args: [`--redis.url=${redis.url}`],
      config: `
pyroscope.receive_http "secure" {
  http {
    listen_address = "127.0.0.1"
    listen_port    = ${tlsPort}
    tls {
      cert_file        = "${pki.server.cert.file}"
      key_file         = "${pki.server.key.file}"
      client_ca_file   = "${pki.ca.cert.file}"
      client_auth_type = "RequireAndVerifyClientCert"
      min_version      = "VersionTLS12"
    }
  }
  forward_to = [pyroscope.write.target.receiver]
}

pyroscope.receive_http "h2c" {
  http {
    listen_address = "127.0.0.1"
    listen_port    = ${h2cPort}
    conn_limit     = 0
  }
  grpc {
    listen_port = 0
  }
  graceful_shutdown_timeout = "5s"
  debug_info_upload_timeout = "1m"
  forward_to = [pyroscope.write.target.receiver]
}

pyroscope.write "target" {
  endpoint {
    url          = "${target.url}"
    bearer_token = "tok-e2e"
  }
}
`,
    });
  });

  after(async () => {
    await relay?.stop();
    await target?.close();
    await redis?.stop();
  });

  const secureProfile = gzippedPprof({ seed: 61 });

  function ingestOverTls(identity: boolean): Promise<number> {
    return new Promise((done, fail) => {
      const req = httpsRequest(
        `${tlsUrl}/ingest?name=secure-app&format=pprof`,
        { method: "POST", agent: false, ca: pki.ca.cert.pem, ...(identity ? { cert: pki.client.cert.pem, key: pki.client.key.pem } : {}) },
        (res) => {
          res.resume();
          res.on("end", () => done(res.statusCode ?? 0));
        },
      );
      req.on("error", fail);
      req.end(secureProfile);
    });
  }

  it("HTTPS: a client with a certificate the CA signed is served and its profile delivered; one without is refused", async () => {
    const n = target.requests.length;
    assert.equal(await ingestOverTls(true), 200);
    await assert.rejects(ingestOverTls(false));
    const requests = await target.waitForRequests(n + 1, 10_000);
    const delivered = requests.slice(n).filter((r) => r.path === "/ingest");
    assert.equal(delivered.length, 1);
    assert.ok(delivered[0]!.body.equals(secureProfile), "the body byte for byte");
  });

  it("HTTPS: Push over gRPC (HTTP/2 by ALPN) with the client certificate", async () => {
    const n = target.requests.length;
    const transport = createGrpcTransport({ baseUrl: tlsUrl, nodeOptions: { ca: pki.ca.cert.pem, cert: pki.client.cert.pem, key: pki.client.key.pem } });
    await createClient(PusherService, transport).push({
      series: [
        {
          labels: [
            { name: "__name__", value: "process_cpu" },
            { name: "service_name", value: "grpc-tls" },
          ],
          samples: [{ rawProfile: gzippedPprof({ seed: 62 }) }],
        },
      ],
    });
    const [push] = (await target.waitForRequests(n + 1, 10_000)).slice(n);
    assert.equal(push?.path, pushPath);
    assert.ok(fromBinary(PushRequestSchema, push.body).series[0]?.labels.some((l) => l.value === "grpc-tls"));
  });

  it("h2c: Push over native gRPC with buf curl --protocol grpc --http2-prior-knowledge is delivered", async () => {
    const n = target.requests.length;
    const profile = gzippedPprof({ seed: 63 });
    const request = create(PushRequestSchema, {
      series: [
        {
          labels: [
            { name: "__name__", value: "process_cpu" },
            { name: "service_name", value: "buf-grpc" },
          ],
          samples: [{ rawProfile: profile }],
        },
      ],
    });
    const { stdout } = await promisify(execFile)(
      resolve(repo, "node_modules/.bin/buf"),
      [
        "curl",
        "--schema",
        resolve(repo, "proto"),
        "--protocol",
        "grpc",
        "--http2-prior-knowledge",
        "-d",
        toJsonString(PushRequestSchema, request),
        `${h2cUrl}${pushPath}`,
      ],
      { cwd: repo },
    );
    assert.equal(stdout.trim(), "{}");
    const [push] = (await target.waitForRequests(n + 1, 10_000)).slice(n);
    assert.equal(push?.headers.authorization, "Bearer tok-e2e");
    const series = fromBinary(PushRequestSchema, push!.body).series[0];
    assert.ok(series?.labels.some((l) => l.name === "service_name" && l.value === "buf-grpc"));
    assert.ok(Buffer.from(series!.samples[0]!.rawProfile).equals(profile));
  });

  it("debuginfo: ShouldInitiateUpload, the upload and UploadFinished reach the target synchronously", async () => {
    const client = createClient(DebuginfoService, createConnectTransport({ baseUrl: h2cUrl, httpVersion: "2" }));
    const n = target.requests.length;
    const answer = await client.shouldInitiateUpload({ file: { gnuBuildId: "e2e-build", name: "app" } });
    assert.equal(answer.shouldInitiateUpload, true);
    const elf = Buffer.alloc(3 * 1024 * 1024, 7);
    const upload = await fetch(`${h2cUrl}/debuginfo.v1alpha1.DebuginfoService/Upload/e2e-build`, { method: "POST", body: elf });
    assert.equal(upload.status, 200);
    await client.uploadFinished({ gnuBuildId: "e2e-build" });
    const seen = target.requests.slice(n);
    assert.deepEqual(
      seen.map((r) => r.path),
      [
        "/debuginfo.v1alpha1.DebuginfoService/ShouldInitiateUpload",
        "/debuginfo.v1alpha1.DebuginfoService/Upload/e2e-build",
        "/debuginfo.v1alpha1.DebuginfoService/UploadFinished",
      ],
    );
    assert.ok(seen[1]!.body.equals(elf));
    assert.ok(seen.every((r) => r.headers.authorization === "Bearer tok-e2e"));
  });

  it("logs that the grpc block is not served, and never the private key", () => {
    const output = relay.output();
    assert.match(output, /the grpc block is accepted as Alloy does, but nothing listens on it/);
    const keyLines = pki.server.key.pem.split("\n").filter((line) => line !== "" && !line.startsWith("-----"));
    for (const line of keyLines) assert.ok(!output.includes(line), "no line of the private key");
  });
});
