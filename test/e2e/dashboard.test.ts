import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";
import { gzippedPprof, startFakeTarget, startRedisServer, freePort } from "@pyroscope-relay/testing";
import type { FakeTarget, RedisServerHandle } from "@pyroscope-relay/testing";
import { startRelayProcess } from "./support/relay-process.js";
import type { RelayProcess } from "./support/relay-process.js";
import { relayConfig } from "./support/relay-config.js";

// Debian's chromium (.ci/run installs it); playwright's own browser downloads are not used.
const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";
const TOKEN = "e2e-dashboard-token-0123456789abcdef";
const REJECT = { status: 400, body: '{"code":"invalid_argument","message":"profile rejected: bad sample type"}' };
// DASHBOARD_SCREENSHOT=docs/dashboard.png (from the repository root) saves the page with this test's data.
const screenshotPath = process.env["DASHBOARD_SCREENSHOT"];

/** Waits until the element's text matches; the page refreshes by itself, so it gets there or times out. */
async function textOf(locator: Locator, expected: string | RegExp, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let text: string | null = null;
  while (Date.now() < deadline) {
    text = await locator.textContent({ timeout: 1_000 }).catch(() => null);
    if (text !== null && (typeof expected === "string" ? text === expected : expected.test(text))) return text;
    await sleep(100);
  }
  throw new Error(`expected ${String(expected)}, the page shows ${JSON.stringify(text)}`);
}

describe("the dashboard page in a real browser", () => {
  let redis: RedisServerHandle;
  let strict: FakeTarget;
  let healthy: FakeTarget;
  let staging: FakeTarget;
  let relay: RelayProcess;
  let browser: Browser;
  let ingestPort: number;
  let seed = 0;

  const send = async () => {
    const res = await fetch(`http://127.0.0.1:${ingestPort}/ingest?name=checkout&format=pprof`, { method: "POST", body: gzippedPprof({ seed: ++seed }) });
    assert.equal(res.status, 200);
  };
  /** A page that records every request it makes beyond the relay's ops server. */
  const open = async (url: string): Promise<{ page: Page; elsewhere: string[] }> => {
    const page = await browser.newPage({ viewport: { width: 1360, height: 640 } });
    const elsewhere: string[] = [];
    page.on("request", (request) => {
      if (!request.url().startsWith(`${new URL(url).origin}/`)) elsewhere.push(request.url());
    });
    await page.goto(url);
    return { page, elsewhere };
  };

  before(async () => {
    redis = await startRedisServer();
    strict = await startFakeTarget();
    strict.respond(() => REJECT);
    healthy = await startFakeTarget();
    staging = await startFakeTarget();
    ingestPort = await freePort();
    relay = await startRelayProcess({
      args: [`--redis.url=${redis.url}`, "--target.max-backlog-size=64MiB"],
      config: relayConfig({
        port: ingestPort,
        targets: [
          { name: "production", url: healthy.url },
          { name: "staging", url: staging.url },
          { name: "strict", url: strict.url },
        ],
      }),
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"] });
  });

  after(async () => {
    await browser?.close();
    await relay?.stop();
    await strict?.close();
    await healthy?.close();
    await staging?.close();
    await redis?.stop();
  });

  it("shows a failed delivery, replays it after a dry run and a confirmation, and shows it delivered", async () => {
    const { page, elsewhere } = await open(`${relay.opsUrl}/?refresh=1`);
    const target = page.locator('#targets tr[data-target="strict"]');
    await textOf(target.locator("[data-field=failed]"), "0");
    await textOf(page.locator("#failed tbody"), "No failed deliveries.");

    await send();
    await textOf(target.locator("[data-field=failed]"), "1");
    const failure = page.locator('#failed tr[data-target="strict"][data-reason="http 400"]');
    await textOf(failure.locator("[data-field=batches]"), "1");
    assert.match((await failure.locator("[data-field=detail]").textContent()) ?? "", /profile rejected: bad sample type/);
    await textOf(page.locator('#targets tr[data-target="production"] [data-field=delivered]'), /1 total$/);
    await textOf(page.locator("#receivers tbody tr [data-field=received]"), /1 total$/);
    assert.match((await target.locator("[data-field=backlog]").textContent()) ?? "", /0 B of 64 MiB/);

    if (screenshotPath !== undefined) {
      // Something in every column: traffic (rates above 0), a rejected request now and then, and a
      // target whose circuit is open (503 with Retry-After) so that its backlog grows.
      staging.respond(() => ({ status: 503, headers: { "retry-after": "30" } }));
      const until = Date.now() + 3_000;
      for (let i = 0; Date.now() < until; i++) {
        await send();
        if (i % 4 === 0) await fetch(`http://127.0.0.1:${ingestPort}/ingest?name=bad%21app`, { method: "POST", body: "x" });
        await sleep(150);
      }
      await textOf(page.locator('#targets tr[data-target="staging"] [data-field=circuit]'), /^open until /);
      await textOf(page.locator('#targets tr[data-target="production"] [data-field=delivered]'), /^[1-9][\d.]*\/s/);
      await page.screenshot({ path: resolve(import.meta.dirname, "../..", screenshotPath), fullPage: true });
      staging.respond(undefined);
    }
    // Every profile sent so far went out in a batch of its own, which strict refused.
    const failedBefore = seed;
    await textOf(target.locator("[data-field=failed]"), String(failedBefore));
    const requestsBefore = strict.requests.length;

    strict.respond(undefined);
    await failure.getByRole("button", { name: "Replay…" }).click();
    const dialog = page.locator("#replay-dialog");
    assert.equal(await dialog.locator("[name=reason]").inputValue(), "http 400");
    assert.equal(await dialog.locator("[name=status]").inputValue(), "400");
    assert.equal(await dialog.locator("[name=exactReason]").isChecked(), true, "that row's reason alone");
    const confirm = dialog.locator('button[value="confirm"]');
    assert.equal(await confirm.isDisabled(), true, "no replay before a dry run");

    await dialog.locator("[name=since]").fill("2 days");
    await dialog.getByRole("button", { name: "Dry run" }).click();
    await textOf(dialog.locator("#replay-outcome.bad"), /^since: invalid duration/);
    await dialog.locator("[name=since]").fill("1h");
    await dialog.getByRole("button", { name: "Dry run" }).click();
    const plural = failedBefore === 1 ? "1 batch (1 profile)" : `${failedBefore} batches (${failedBefore} profiles)`;
    await textOf(dialog.locator("#replay-outcome"), `Dry run: would replay ${plural}; skipped 0 (payload gone), not matched 0.`);
    await dialog.locator("[name=limit]").fill(String(failedBefore));
    assert.equal(await confirm.isDisabled(), true, "a changed filter needs a new dry run");
    await dialog.getByRole("button", { name: "Dry run" }).click();
    await textOf(confirm, `Replay ${plural.replace(/ \(.*/, "")}`);
    await sleep(300);
    assert.equal(strict.requests.length, requestsBefore, "a dry run sends nothing");
    assert.equal(Number(await target.locator("[data-field=failed]").textContent()), failedBefore);

    await confirm.click();
    await textOf(page.locator("#notice"), `Replayed ${plural} of strict; skipped 0 (payload gone), not matched 0.`);
    assert.equal(await dialog.isVisible(), false);
    await strict.waitForRequests(requestsBefore + failedBefore, 10_000);
    await textOf(target.locator("[data-field=failed]"), "0");
    await textOf(target.locator("[data-field=delivered]"), new RegExp(` ${failedBefore} total$`));
    await textOf(page.locator("#failed tbody"), "No failed deliveries.");
    assert.equal(await page.locator("#problem").isVisible(), false);
    assert.deepEqual(elsewhere, [], "the page loads nothing from anywhere else");
    await page.close();
  });

  /** A page on which strict has one failed batch (it refused the profile sent), and that batch's `button` clicked. */
  async function withOneFailed(button: "Purge…" | "Replay…") {
    strict.respond(() => REJECT);
    await send();
    const { page } = await open(`${relay.opsUrl}/?refresh=1`);
    const target = page.locator('#targets tr[data-target="strict"]');
    await textOf(target.locator("[data-field=failed]"), "1");
    await page.locator('#failed tr[data-target="strict"]').getByRole("button", { name: button }).click();
    return { page, target };
  }

  it("purges the failed batches it counted after a confirmation, none that failed since", async () => {
    const { page, target } = await withOneFailed("Purge…");
    const dialog = page.locator("#purge-dialog");
    const confirm = dialog.locator('button[value="confirm"]');
    assert.equal(await confirm.isDisabled(), true);
    await dialog.getByRole("button", { name: "Continue" }).click();
    await textOf(
      dialog.locator("#purge-outcome"),
      /^Delete the failed batches of strict whose failure is "http 400" with status 400: 1 failed batch \(1 profile\), and their stored profiles\? This cannot be undone\.$/,
    );
    await textOf(confirm, "Delete 1 failed batch for good");
    await send();
    await textOf(target.locator("[data-field=failed]"), "2");
    await confirm.click();
    await textOf(page.locator("#notice"), "Purged 1 failed batch (1 profile) of strict; deleted 1 stored profile no other job held.");
    await textOf(target.locator("[data-field=failed]"), "1");

    await page.locator('#failed tr[data-target="strict"]').getByRole("button", { name: "Purge…" }).click();
    await dialog.locator("[name=reason]").fill("network");
    await dialog.getByRole("button", { name: "Continue" }).click();
    await textOf(dialog.locator("#purge-outcome"), 'No failed batch matches: the failed batches of strict whose failure is "network" with status 400.');
    assert.equal(await confirm.isDisabled(), true);
    await dialog.locator("[name=reason]").fill("http 400");
    await dialog.getByRole("button", { name: "Continue" }).click();
    await textOf(confirm, "Delete 1 failed batch for good");
    await confirm.click();
    await textOf(target.locator("[data-field=failed]"), "0");
    await page.close();
  });

  it("takes back a dry run whose filters were edited before its answer came; replays no more than a dry run counted", async () => {
    const { page, target } = await withOneFailed("Replay…");
    const dialog = page.locator("#replay-dialog");
    const confirm = dialog.locator('button[value="confirm"]');
    // The dry run's answer waits until the operator has edited a field.
    let asked!: () => void;
    const dryRunAsked = new Promise<void>((resolve) => (asked = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    await page.route("**/api/v1/replay", async (route) => {
      asked();
      await released;
      await route.continue();
    });
    await dialog.getByRole("button", { name: "Dry run" }).click();
    await dryRunAsked;
    await dialog.locator("[name=reason]").fill("");
    const answered = page.waitForResponse((response) => response.url().endsWith("/api/v1/replay"));
    release();
    await answered;
    await sleep(300);
    assert.equal(await confirm.isDisabled(), true, "the answer describes filters no longer in the form");
    assert.equal(await dialog.locator("#replay-outcome").textContent(), "");
    await page.unroute("**/api/v1/replay");

    await dialog.getByRole("button", { name: "Dry run" }).click();
    await textOf(confirm, "Replay 1 batch");
    // A batch that fails after the dry run, for the same reason, is not replayed with the one it counted.
    await send();
    await textOf(target.locator("[data-field=failed]"), "2");
    strict.respond(undefined);
    await confirm.click();
    await textOf(page.locator("#notice"), "Replayed 1 batch (1 profile) of strict; skipped 0 (payload gone), not matched 0.");
    await textOf(target.locator("[data-field=failed]"), "1");
    await page.locator('#failed tr[data-target="strict"]').getByRole("button", { name: "Replay…" }).click();
    await dialog.getByRole("button", { name: "Dry run" }).click();
    await textOf(confirm, "Replay 1 batch");
    await confirm.click();
    await textOf(target.locator("[data-field=failed]"), "0");
    await page.close();
  });

  it("says why when the admin API is disabled (beyond loopback without a token)", async () => {
    const disabled = await startRelayProcess({
      command: "writer",
      opsHost: "0.0.0.0",
      args: [`--redis.url=${redis.url}`],
      config: await readFile(join(relay.dir, "relay.alloy"), "utf8"),
    });
    try {
      const { page } = await open(`${disabled.opsUrl}/`);
      await textOf(page.locator("#problem"), /^Cannot read the relay's state: the admin API is disabled: .*set --server\.http\.admin-token/);
      assert.equal(await page.locator("#token-dialog").isVisible(), false);
      await page.close();
    } finally {
      await disabled.stop();
    }
  });

  it("asks for the admin token when the API answers 401, and keeps it for the tab only", async () => {
    const guarded = await startRelayProcess({
      command: "writer",
      args: [`--redis.url=${redis.url}`, `--server.http.admin-token=${TOKEN}`],
      config: await readFile(join(relay.dir, "relay.alloy"), "utf8"),
    });
    try {
      const { page } = await open(`${guarded.opsUrl}/?refresh=1`);
      const dialog = page.locator("#token-dialog");
      await textOf(dialog.locator("#token-message"), /needs its token/);
      await dialog.locator("[name=token]").fill("not-the-admin-token-at-all");
      await dialog.getByRole("button", { name: "Use token" }).click();
      await textOf(dialog.locator("#token-message"), "That token was refused. Enter the relay's admin token.");
      // Blanks are no token: the question stays.
      await dialog.locator("[name=token]").fill("   ");
      await dialog.locator("[name=token]").press("Enter");
      assert.equal(await dialog.isVisible(), true);
      // Enter uses the token, as the button does.
      await dialog.locator("[name=token]").fill(TOKEN);
      await dialog.locator("[name=token]").press("Enter");
      await textOf(page.locator('#targets tr[data-target="strict"] [data-field=failed]'), "0");
      await textOf(page.locator("#receivers tbody"), "This process runs no receiver (a writer).");
      assert.equal(await dialog.isVisible(), false);
      assert.deepEqual(await page.evaluate(() => [sessionStorage.length, localStorage.length]), [1, 0]);

      await page.reload();
      await textOf(page.locator('#targets tr[data-target="strict"] [data-field=failed]'), "0");
      assert.equal(await dialog.isVisible(), false, "the tab keeps the token");

      const other = await open(`${guarded.opsUrl}/?refresh=1`);
      const otherDialog = other.page.locator("#token-dialog");
      await textOf(otherDialog.locator("#token-message"), /needs its token/);
      // Dismissed: the page says what it lacks and stops asking at each refresh.
      await otherDialog.getByRole("button", { name: "Cancel" }).click();
      await textOf(other.page.locator("#token-needed"), /The admin API needs its token/);
      await sleep(2_500);
      assert.equal(await otherDialog.isVisible(), false, "not asked again by the refreshes");
      await other.page.getByRole("button", { name: "Enter the token…" }).click();
      await otherDialog.locator("[name=token]").fill(TOKEN);
      await otherDialog.getByRole("button", { name: "Use token" }).click();
      await textOf(other.page.locator('#targets tr[data-target="strict"] [data-field=failed]'), "0");
      assert.equal(await other.page.locator("#token-needed").isVisible(), false);
      await other.page.close();
      await page.close();
    } finally {
      await guarded.stop();
    }
  });
});
