import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createLogger, RelayMetrics, startOpsServer, type OpsServer } from "@pyroscope-relay/ops";
import { serveDashboard } from "./dashboard-files.js";

const logger = createLogger({ level: "fatal" });

function opsServer(dir: string): Promise<OpsServer> {
  return startOpsServer({ listenAddr: "127.0.0.1:0", logger, metrics: new RelayMetrics(), isReady: () => true, mount: (app) => app.use(serveDashboard(dir)) });
}

describe("the dashboard's files", () => {
  let dir: string;
  let server: OpsServer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "dashboard-"));
    await mkdir(join(dir, "assets"));
    await writeFile(join(dir, "index.html"), "<!doctype html><title>pyroscope-relay</title>");
    await writeFile(join(dir, "assets", "index-abc123.js"), "console.log(1);");
    server = await opsServer(dir);
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("serves the page at / for revalidation, only from its own origin", async () => {
    const res = await fetch(`${server.url}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
    assert.equal(await res.text(), "<!doctype html><title>pyroscope-relay</title>");
    assert.equal(res.headers.get("cache-control"), "no-cache");
    assert.match(res.headers.get("content-security-policy") ?? "", /^default-src 'self';/);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  });

  it("serves the hashed assets for good, and leaves other paths to the ops server", async () => {
    const asset = await fetch(`${server.url}/assets/index-abc123.js`);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get("content-type") ?? "", /javascript/);
    assert.equal(asset.headers.get("cache-control"), "public, max-age=31536000, immutable");
    assert.equal((await fetch(`${server.url}/-/healthy`)).status, 200);
    const missing = await fetch(`${server.url}/assets/nothing.js`);
    assert.equal(missing.status, 404);
    assert.equal(await missing.text(), "Not found");
  });
});

it("says how to build the dashboard when its files are missing", async (t) => {
  const server = await opsServer(join(tmpdir(), "no-such-dashboard"));
  t.after(() => server.close());
  const res = await fetch(`${server.url}/`);
  assert.equal(res.status, 404);
  assert.match(await res.text(), /^the dashboard is not built \(no .*no-such-dashboard\/index\.html\): run npm run build\n$/);
});
