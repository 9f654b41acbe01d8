import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InvalidLabelError, InvalidNameError } from "./errors.js";
import { parseIngestName, rewriteIngestQuery } from "./rewrite-ingest-query.js";

describe("rewriteIngestQuery", () => {
  it("matches Alloy's example", () => {
    assert.equal(rewriteIngestQuery("name=test_app&from=1&until=2", {}), "from=1&name=test_app%7Bservice_name%3Dtest_app%7D&until=2");
  });

  it("makes an explicit service_name the app and keeps the app as app_name", () => {
    assert.equal(
      rewriteIngestQuery("name=test.app%7Bservice_name%3Dmy-service%7D", {}),
      `name=${encodeURIComponent("my-service{app_name=test.app,service_name=my-service}")}`,
    );
  });

  it("reads a value cut inside a UTF-8 sequence as Go does: a U+FFFD per byte", () => {
    assert.equal(rewriteIngestQuery("name=app%7Bk%3D%E2%82%7D", {}), "name=app%7Bk%3D%EF%BF%BD%EF%BF%BD%2Cservice_name%3Dapp%7D");
  });

  it("keeps an empty service_name from renaming and drops empty values", () => {
    assert.equal(rewriteIngestQuery("name=app{service_name=,env=}", {}), `name=${encodeURIComponent("app{app_name=app}")}`);
  });

  it("applies external labels after the rules, an empty one deleting", () => {
    assert.equal(
      rewriteIngestQuery("name=app{env=dev,team=a}", { env: "prod", team: "", service_name: "svc" }),
      `name=${encodeURIComponent("app{env=prod,service_name=svc}")}`,
    );
  });

  it("keeps every other parameter, repeated ones in order, sorted by key", () => {
    assert.equal(
      rewriteIngestQuery("spyName=nodespy&tag=b&name=app&tag=a&format=pprof&sampleRate=100&x=a+b%2Fc", {}),
      "format=pprof&name=app%7Bservice_name%3Dapp%7D&sampleRate=100&spyName=nodespy&tag=b&tag=a&x=a+b%2Fc",
    );
  });

  it("uses the first name and writes back one", () => {
    assert.equal(rewriteIngestQuery("name=a&name=b", {}), "name=a%7Bservice_name%3Da%7D");
  });

  it("escapes the normalized name like Go: spaces as +", () => {
    assert.equal(rewriteIngestQuery("name=app%7Bk%3Da+b%7D", {}), "name=app%7Bk%3Da+b%2Cservice_name%3Dapp%7D");
  });

  it("fails without a usable name", () => {
    for (const query of ["from=1", "name=&from=1", "name=%zz", ""]) {
      assert.throws(
        () => rewriteIngestQuery(query, {}),
        (err: unknown) => {
          assert.ok(err instanceof InvalidNameError);
          assert.equal(err.message, "name: service name is required");
          return true;
        },
        query,
      );
    }
  });

  it("fails on a malformed name", () => {
    assert.throws(() => rewriteIngestQuery("name=my+app!", {}), InvalidNameError);
  });

  it("fails on an invalid external label name", () => {
    assert.throws(() => rewriteIngestQuery("name=app", { "bad-name": "x" }), InvalidLabelError);
  });
});

describe("parseIngestName", () => {
  it("decodes the first name as Go does", () => {
    assert.deepEqual(parseIngestName("from=1&name=my-app%7Benv%3Dprod+eu%7D&name=other"), {
      app: "my-app",
      labels: new Map([["env", "prod eu"]]),
    });
  });

  it("reads malformed UTF-8 in a value as U+FFFD", () => {
    assert.deepEqual(parseIngestName("name=app%7Bk%3D%FF%7D").labels, new Map([["k", "\ufffd"]]));
  });

  it("refuses a service_name that could not be the app write makes of it, and lets an empty one pass", () => {
    assert.throws(() => parseIngestName(`name=${encodeURIComponent("checkout{service_name=payments api}")}`), {
      name: "InvalidNameError",
      message: "name: service_name: invalid service name: payments api: character is not allowed: ' '",
    });
    assert.throws(() => parseIngestName(`name=${encodeURIComponent("checkout{service_name=svc:v2}")}`), /character is not allowed: ':'/);
    assert.equal(parseIngestName(`name=${encodeURIComponent("checkout{service_name=,env=a b}")}`).app, "checkout");
  });

  it("treats a missing name as Pyroscope does", () => {
    assert.throws(() => parseIngestName("from=1"), { name: "InvalidNameError", message: "name: service name is required" });
  });
});
