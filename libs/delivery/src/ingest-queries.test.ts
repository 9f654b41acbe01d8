import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidNameError, rewriteIngestQuery } from "@pyroscope-relay/profile";
import { IngestQueries, labelsKey } from "./ingest-queries.js";

/** IngestQueries over the real rewrite, counting its calls; `sharers` by labels key. */
function queries(sharers: Record<string, number>, maxEntries = 100) {
  const calls: string[] = [];
  const shared = new IngestQueries(
    (key) => sharers[key] ?? 0,
    maxEntries,
    (query, labels) => {
      calls.push(query);
      return rewriteIngestQuery(query, labels);
    },
  );
  return { shared, calls };
}

const query = (n: number) => `name=app%7Benv%3Dprod%7D&from=${n}&until=${n + 10}`;

describe("IngestQueries", () => {
  it("rewrites a query once for targets with the same external labels, whatever their order", () => {
    const labels = { region: "eu", team: "a" };
    const { shared, calls } = queries({ [labelsKey(labels)]: 2 });
    const first = shared.rewriterFor(labels);
    const second = shared.rewriterFor({ team: "a", region: "eu" });
    for (const n of [1, 2, 3]) assert.equal(first(query(n)), rewriteIngestQuery(query(n), labels));
    for (const n of [1, 2, 3]) assert.equal(second(query(n)), rewriteIngestQuery(query(n), labels));
    assert.deepEqual(calls, [query(1), query(2), query(3)]);
  });

  it("keeps nothing for a target whose labels no other target has: each gets its own rewrite", () => {
    const eu = { region: "eu" };
    const us = { region: "us" };
    const { shared, calls } = queries({ [labelsKey(eu)]: 1, [labelsKey(us)]: 1 });
    assert.equal(shared.rewriterFor(eu)(query(1)), rewriteIngestQuery(query(1), eu));
    assert.equal(shared.rewriterFor(us)(query(1)), rewriteIngestQuery(query(1), us));
    assert.notEqual(rewriteIngestQuery(query(1), eu), rewriteIngestQuery(query(1), us));
    assert.equal(shared.rewriterFor(eu)(query(1)), rewriteIngestQuery(query(1), eu));
    assert.equal(calls.length, 3);
  });

  it("lets an entry go once every other target took it, and the oldest beyond the bound", () => {
    const { shared, calls } = queries({ [labelsKey({})]: 3 }, 2);
    const [a, b, c] = [shared.rewriterFor({}), shared.rewriterFor({}), shared.rewriterFor({})];
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
    const { shared, calls } = queries({ [labelsKey({})]: 2 });
    for (const rewrite of [shared.rewriterFor({}), shared.rewriterFor({})]) {
      assert.throws(() => rewrite("from=1"), InvalidNameError);
    }
    assert.equal(calls.length, 2);
  });
});
