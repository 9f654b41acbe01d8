// Secrets read from files, rotated while the writer runs: a target that already wants the new secret
// answers 401 until the file changes, and no profile fails for good meanwhile.
import assert from "node:assert/strict";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import type { TargetAuth } from "@pyroscope-relay/config";
import { startFakeTarget, targetConfig } from "@pyroscope-relay/testing";
import { drainJobId } from "@pyroscope-relay/queue";
import { eventually, failedJob, ingestData, redisForFile } from "./writer-harness.js";

const { relay } = await redisForFile();

async function secretFile(t: TestContext, contents: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "rotation-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "secret");
  await writeFile(file, contents);
  return file;
}

/** Replaces the file the way Kubernetes updates a mounted secret: a new file renamed over the old one. */
async function rotate(file: string, contents: string): Promise<void> {
  await writeFile(`${file}.new`, contents);
  await rename(`${file}.new`, file);
}

const rotations: { attribute: string; auth: (file: string) => TargetAuth; header: (secret: string) => string }[] = [
  { attribute: "bearer_token_file", auth: (file) => ({ kind: "bearer", token: "old-s3cret", tokenFile: file }), header: (s) => `Bearer ${s}` },
  {
    attribute: "basic_auth password_file",
    auth: (file) => ({ kind: "basic", username: "relay", password: "old-s3cret", passwordFile: file }),
    header: (s) => `Basic ${Buffer.from(`relay:${s}`).toString("base64")}`,
  },
  {
    attribute: "authorization credentials_file",
    auth: (file) => ({ kind: "authorization", type: "Token", credentials: "old-s3cret", credentialsFile: file }),
    header: (s) => `Token ${s}`,
  },
];

for (const { attribute, auth, header } of rotations) {
  test(`${attribute} rotated while running: 401s until the file changes, then delivered; nothing fails for good`, async (t) => {
    const file = await secretFile(t, "old-s3cret\n");
    const target = await startFakeTarget();
    let accepted = header("old-s3cret");
    target.respond((request) => (request.headers.authorization === accepted ? undefined : { status: 401, body: "invalid credentials" }));
    const r = await relay(t, [targetConfig("a", { url: target.url, auth: auth(file), minBackoffMs: 20, maxBackoffMs: 100 })], { fakes: [target] });

    await r.enqueuer.enqueue(Buffer.from("before"), ingestData(), ["a"]);
    await eventually("the first profile delivered with the old secret", () => target.requests.some((q) => q.body.toString() === "before"));

    // The identity provider rotates first; the relay's file follows later (a kubelet sync, a vault agent).
    accepted = header("new-s3cret");
    const during = await Promise.all(["during-1", "during-2", "during-3"].map((body) => r.enqueuer.enqueue(Buffer.from(body), ingestData(), ["a"])));
    const refusals = (body: string) => target.requests.filter((q) => q.body.toString() === body && q.headers.authorization !== accepted).length;
    // Each profile refused more than once: the retries with the stale secret must not use it up.
    await eventually("refusals while the file is stale", () => ["during-1", "during-2", "during-3"].every((body) => refusals(body) >= 2));
    await rotate(file, "new-s3cret\n");

    const delivered = (body: string) => target.requests.some((q) => q.body.toString() === body && q.headers.authorization === accepted);
    await eventually("every profile delivered with the new secret", () => ["during-1", "during-2", "during-3"].every(delivered), 10_000);
    await r.enqueuer.enqueue(Buffer.from("after"), ingestData(), ["a"]);
    await eventually("later profiles delivered too", () => delivered("after"));
    const queue = r.queue("a");
    assert.equal(await queue.getFailedCount(), 0, "no job failed for good");
    for (const { batchId } of during) assert.equal(await queue.getJob(drainJobId(batchId)), undefined, "completed and removed");
    t.diagnostic(`requests refused while the file was stale: ${["during-1", "during-2", "during-3"].map(refusals).join(", ")}`);
  });
}

test("a secret given inline cannot change: its 401 fails the profile at once, as in Alloy", async (t) => {
  const target = await startFakeTarget();
  target.respond(() => ({ status: 401, body: "invalid credentials" }));
  const r = await relay(t, [targetConfig("a", { url: target.url, auth: { kind: "bearer", token: "inline-s3cret" } })], { fakes: [target] });
  const { batchId } = await r.enqueuer.enqueue(Buffer.from("profile"), ingestData(), ["a"]);
  const job = await failedJob(r.queue("a"), batchId);
  assert.equal(job.attemptsMade, 1);
  assert.equal(job.failedReason, "http 401: invalid credentials");
});

test("a secret file that disappears: retried as `secret file`, naming the file, never its contents; delivered once it is back", async (t) => {
  const file = await secretFile(t, "file-s3cret\n");
  const target = await startFakeTarget();
  const r = await relay(t, [targetConfig("a", { url: target.url, auth: { kind: "bearer", token: "file-s3cret", tokenFile: file }, maxBackoffRetries: 2 })], {
    fakes: [target],
  });
  await rm(file);
  const { batchId } = await r.enqueuer.enqueue(Buffer.from("lost"), ingestData(), ["a"]);
  const job = await failedJob(r.queue("a"), batchId);
  assert.equal(job.failedReason, `secret file: cannot read bearer_token_file ${JSON.stringify(file)}: ENOENT`);
  assert.equal(target.requests.length, 0, "nothing sent without the secret");

  await writeFile(file, "file-s3cret\n");
  await r.enqueuer.enqueue(Buffer.from("found"), ingestData(), ["a"]);
  const [sent] = await target.waitForRequests(1);
  assert.equal(sent?.headers.authorization, "Bearer file-s3cret");
});
