import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileRelabeling, defaultRelabelRule, InvalidNameError, type RelabelStage, rewriteIngestQuery } from "@pyroscope-relay/profile";
import { IngestQueries, type QueryRewriteSettings, rewriteKey } from "./ingest-queries.js";

/** IngestQueries over the real rewrite, counting its calls; `sharers` by rewrite key. */
function queries(sharers: Record<string, number>, maxEntries = 100) {
  const calls: string[] = [];
  const shared = new IngestQueries(
    (key) => sharers[key] ?? 0,
    maxEntries,
    (query, labels, relabeling) => {
      calls.push(query);
      return rewriteIngestQuery(query, labels, relabeling);
    },
  );
  return { shared, calls };
}

const query = (n: number) => `name=app%7Benv%3Dprod%7D&from=${n}&until=${n + 10}`;
const settings = (externalLabels: Record<string, string>, relabel: RelabelStage[] = []): QueryRewriteSettings => ({ externalLabels, relabel });
const none = settings({});

describe("IngestQueries", () => {
  it("rewrites a query once for targets with the same external labels, whatever their order", () => {
    const labels = { region: "eu", team: "a" };
    const { shared, calls } = queries({ [rewriteKey(settings(labels))]: 2 });
    const first = shared.rewriterFor(settings(labels));
    const second = shared.rewriterFor(settings({ team: "a", region: "eu" }));
    for (const n of [1, 2, 3]) assert.equal(first(query(n)), rewriteIngestQuery(query(n), labels));
    for (const n of [1, 2, 3]) assert.equal(second(query(n)), rewriteIngestQuery(query(n), labels));
    assert.deepEqual(calls, [query(1), query(2), query(3)]);
  });

  it("keeps nothing for a target whose labels no other target has: each gets its own rewrite", () => {
    const eu = { region: "eu" };
    const us = { region: "us" };
    const { shared, calls } = queries({ [rewriteKey(settings(eu))]: 1, [rewriteKey(settings(us))]: 1 });
    assert.equal(shared.rewriterFor(settings(eu))(query(1)), rewriteIngestQuery(query(1), eu));
    assert.equal(shared.rewriterFor(settings(us))(query(1)), rewriteIngestQuery(query(1), us));
    assert.notEqual(rewriteIngestQuery(query(1), eu), rewriteIngestQuery(query(1), us));
    assert.equal(shared.rewriterFor(settings(eu))(query(1)), rewriteIngestQuery(query(1), eu));
    assert.equal(calls.length, 3);
  });

  it("lets an entry go once every other target took it, and the oldest beyond the bound", () => {
    const { shared, calls } = queries({ [rewriteKey(none)]: 3 }, 2);
    const [a, b, c] = [shared.rewriterFor(none), shared.rewriterFor(none), shared.rewriterFor(none)];
    a(query(1));
    b(query(1));
    c(query(1));
    // Taken by both others: a retry of the first target rewrites again.
    a(query(1));
    assert.equal(calls.length, 2);
    // Two kept at most: the third query pushes out the oldest (the retry's).
    a(query(2));
    a(query(3));
    assert.equal(b(query(1)), rewriteIngestQuery(query(1), {}));
    assert.equal(b(query(3)), rewriteIngestQuery(query(3), {}));
    assert.deepEqual(calls, [query(1), query(1), query(2), query(3), query(1)]);
  });

  it("keeps no error: every target gets the rewrite's own", () => {
    const { shared, calls } = queries({ [rewriteKey(none)]: 2 });
    for (const rewrite of [shared.rewriterFor(none), shared.rewriterFor(none)]) {
      assert.throws(() => rewrite("from=1"), InvalidNameError);
    }
    assert.equal(calls.length, 2);
  });

  it("shares between targets with the same relabel rules only, drops included", () => {
    const dropProd: RelabelStage[] = [
      { component: "pyroscope.relabel.prod", rules: [{ ...defaultRelabelRule, sourceLabels: ["env"], regex: "prod", action: "drop" }] },
    ];
    const keepAll: RelabelStage[] = [{ component: "pyroscope.relabel.all", rules: [{ ...defaultRelabelRule, sourceLabels: ["env"], targetLabel: "stage" }] }];
    assert.notEqual(rewriteKey(settings({}, dropProd)), rewriteKey(settings({}, keepAll)));
    const { shared, calls } = queries({ [rewriteKey(settings({}, dropProd))]: 2, [rewriteKey(settings({}, keepAll))]: 1 });
    const dropping = [shared.rewriterFor(settings({}, dropProd)), shared.rewriterFor(settings({}, dropProd))];
    for (const rewrite of dropping) assert.deepEqual(rewrite(query(1)), { droppedBy: "pyroscope.relabel.prod" });
    assert.equal(shared.rewriterFor(settings({}, keepAll))(query(1)), rewriteIngestQuery(query(1), {}, compileRelabeling(keepAll)));
    assert.match(String(rewriteIngestQuery(query(1), {}, compileRelabeling(keepAll))), /stage%3Dprod/);
    assert.equal(calls.length, 2, "one rewrite for the two dropping targets, one for the other");
  });
});
