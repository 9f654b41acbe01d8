import assert from "node:assert/strict";
import { test } from "node:test";
import { blankSecrets } from "./blank-secrets.js";

test("every occurrence is blanked in one pass: a secret is never found inside the blank of another, nor inside a longer one", () => {
  assert.equal(blankSecrets("Basic c2VjcmV0 means secret", ["secret", "c2VjcmV0"], false), "Basic <secret> means <secret>");
  assert.equal(blankSecrets("token tok-secret-1, then secret", ["secret", "tok-secret-1"], false), "token <secret>, then <secret>");
  assert.equal(blankSecrets("a.b+c? or a-b+c?", ["a.b+c?"], false), "<secret> or a-b+c?", "regular expression characters are literal");
  assert.equal(blankSecrets("nothing to hide", [], false), "nothing to hide");
  assert.equal(blankSecrets("nothing to hide", [""], false), "nothing to hide");
});

test("a secret shorter than 4 characters is blanked only as a whole token", () => {
  assert.equal(blankSecrets('{"code":"unavailable","message":"a shard is down"}', ["a"], false), '{"code":"unavailable","message":"<secret> shard is down"}');
  assert.equal(blankSecrets("pw, pw2 and pw", ["pw"], false), "<secret>, pw2 and <secret>");
  assert.equal(blankSecrets("x1é x1 éx1", ["x1"], false), "x1é <secret> éx1", "letters beyond ASCII count as part of a word");
  assert.equal(blankSecrets("code in the codec", ["code"], false), "<secret> in the <secret>c", "4 characters are blanked anywhere");
});

test("the end of a cut text that is the start of a secret (4 characters at least) is blanked; of a whole text it is kept", () => {
  const token = "tok-s3cret-of-some-length";
  assert.equal(blankSecrets(`denied: ${token.slice(0, 9)}`, [token], true), "denied: <secret>");
  assert.equal(blankSecrets(`denied: ${token.slice(0, 9)}`, [token], false), `denied: ${token.slice(0, 9)}`);
  assert.equal(blankSecrets(`denied: ${token.slice(0, 3)}`, [token], true), `denied: ${token.slice(0, 3)}`);
  assert.equal(blankSecrets(`denied: ${token}`, [token], true), "denied: <secret>");
});
