import { test } from "node:test";
import assert from "node:assert/strict";
import type { Diagnostic } from "./diagnostic.js";
import { buildTargets, type Located } from "./targets.js";
import { ValueLocations } from "./value-locations.js";
import { writeSchema, type WriteComponent } from "./write-schema.js";

const schema = writeSchema(() => assert.fail("no files here"));

function write(label: string, data: unknown): Located<WriteComponent> {
  const pos = { line: 1, col: 1 };
  return { label, pos, value: schema.parse(data), locations: new ValueLocations(pos) };
}

test("names a single endpoint's target after its component", () => {
  const diagnostics: Diagnostic[] = [];
  const targets = buildTargets([write("prod", { endpoint: [{ url: "http://a", name: "ignored" }] })], "f", diagnostics);
  assert.deepEqual(
    targets.map((t) => [t.name, t.writeLabel, t.endpointName]),
    [["prod", "prod", "ignored"]],
  );
  assert.deepEqual(diagnostics, []);
});

test("names several endpoints by name, or by index when unnamed", () => {
  const targets = buildTargets(
    [write("prod", { endpoint: [{ url: "http://a", name: "eu" }, { url: "http://b" }, { url: "http://c", name: "us" }] })],
    "f",
    [],
  );
  assert.deepEqual(
    targets.map((t) => t.name),
    ["prod/eu", "prod/1", "prod/us"],
  );
});

test("maps auth, TLS and external labels, each target with its own copies", () => {
  const targets = buildTargets(
    [
      write("w", {
        external_labels: { env: "prod" },
        endpoint: [
          { url: "http://a", basic_auth: [{ username: "u" }], tls_config: [{ server_name: "s" }] },
          { url: "http://b", bearer_token: "t", headers: { "X-Scope-OrgID": "1" } },
        ],
      }),
    ],
    "f",
    [],
  );
  const [a, b] = targets;
  assert.deepEqual(a?.auth, { kind: "basic", username: "u", password: "" });
  assert.deepEqual(a?.tls, { insecureSkipVerify: false, serverName: "s" });
  assert.deepEqual(b?.auth, { kind: "bearer", token: "t" });
  assert.equal("tls" in (b ?? {}), false);
  assert.deepEqual(b?.headers, { "X-Scope-OrgID": "1" });
  assert.deepEqual(a?.externalLabels, { env: "prod" });
  assert.notEqual(a?.externalLabels, b?.externalLabels);
});

test("reports a duplicate target name and leaves it out", () => {
  const diagnostics: Diagnostic[] = [];
  const targets = buildTargets(
    [write("w", { endpoint: [{ url: "http://a", name: "x" }, { url: "http://b", name: "x" }] })],
    "f",
    diagnostics,
  );
  assert.equal(targets.length, 1);
  assert.deepEqual(
    diagnostics.map((d) => d.message),
    ['duplicate target name "w/x"; give each endpoint of pyroscope.write "w" a different name'],
  );
});
