import assert from "node:assert/strict";
import { test } from "node:test";
import { gunzipSync } from "node:zlib";
import { Profile } from "pprof-format";
import { foldedText } from "./folded-text.js";
import { jfrBytes } from "./jfr-bytes.js";
import { multipartForm } from "./multipart-form.js";
import { gzippedPprof, plainPprof } from "./pprof-profile.js";

test("gzippedPprof is a real gzipped pprof profile, distinct per seed", () => {
  const bytes = gzippedPprof({ seed: 7, samples: 5, timeMs: 1_700_000_000_000 });
  assert.deepEqual(bytes.subarray(0, 2), Buffer.from([0x1f, 0x8b]));
  const profile = Profile.decode(gunzipSync(bytes));
  assert.equal(profile.sample.length, 5);
  assert.equal(profile.timeNanos, 1_700_000_000_000_000_000n);
  assert.equal(profile.stringTable.strings[Number(profile.sampleType[1]?.type)], "cpu");
  assert.deepEqual(gzippedPprof({ seed: 7, samples: 5, timeMs: 1 }), gzippedPprof({ seed: 7, samples: 5, timeMs: 1 }));
  assert.notDeepEqual(gzippedPprof({ seed: 7, timeMs: 1 }), gzippedPprof({ seed: 8, timeMs: 1 }));
});

test("plainPprof decodes without gunzip", () => {
  assert.equal(Profile.decode(plainPprof()).sample.length, 20);
});

test("foldedText is frame;frame count lines", () => {
  for (const line of foldedText().toString().trim().split("\n")) assert.match(line, /^[\w.]+(;[\w.]+)* \d+$/);
});

test("jfrBytes starts with the JFR magic and has the asked size", () => {
  const bytes = jfrBytes(1_000);
  assert.equal(bytes.length, 1_000);
  assert.deepEqual(bytes.subarray(0, 4), Buffer.from("FLR\0", "latin1"));
  assert.throws(() => jfrBytes(4), RangeError);
});

test("multipartForm builds a form any multipart parser reads back", async () => {
  const profile = gzippedPprof();
  const form = multipartForm([
    { name: "profile", filename: "profile.pprof", body: profile },
    { name: "sample_type_config", contentType: "application/json", body: Buffer.from('{"cpu":{}}') },
  ]);
  assert.match(form.contentType, /^multipart\/form-data; boundary=\S+$/);
  const parsed = await new Response(form.body, { headers: { "content-type": form.contentType } }).formData();
  const file = parsed.get("profile");
  assert.ok(file instanceof File);
  assert.equal(file.name, "profile.pprof");
  assert.equal(file.type, "application/octet-stream");
  assert.deepEqual(Buffer.from(await file.arrayBuffer()), profile);
  assert.equal(parsed.get("sample_type_config"), '{"cpu":{}}');
});
