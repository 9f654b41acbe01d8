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

test("secrets that overlap or touch are blanked as the union of what they cover, whichever starts first", () => {
  assert.equal(blankSecrets("tok-1234-abcdef was refused", ["tok-1234", "1234-abcdef"], false), "<secret> was refused");
  assert.equal(blankSecrets("tok-1234-abcdef was refused", ["1234-abcdef", "tok-1234"], false), "<secret> was refused");
  assert.equal(blankSecrets("key abcdefgh, then efgh", ["abcd", "efgh"], false), "key <secret>, then <secret>", "touching: one blank");
  assert.equal(blankSecrets("aaaaa!", ["aaaa"], false), "<secret>!", "a secret overlapping itself");
  assert.equal(blankSecrets("pwned s3cret-pw and pw", ["pw", "s3cret-pw"], false), "pwned <secret> and <secret>", "a short secret still only as a whole token");
  assert.equal(blankSecrets("sent tok-1234-abc", ["1234-abcdef", "tok-1234"], true), "sent <secret>", "a cut start overlapping a whole secret");
});

test("a secret is blanked as JSON escapes it too: as JSON.stringify writes it, and as Go's json.Marshal does", () => {
  const secret = 'pw<s3cret>&"back\\slash\n';
  const json = JSON.stringify({ password: secret });
  assert.equal(blankSecrets(json, [secret], false), '{"password":"<secret>"}');
  const go = json.replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026");
  assert.equal(go, '{"password":"pw\\u003cs3cret\\u003e\\u0026\\"back\\\\slash\\n"}');
  assert.equal(blankSecrets(go, [secret], false), '{"password":"<secret>"}');
  assert.equal(blankSecrets('{"token":"ls\\u2028s3cret"}', ["ls\u2028s3cret"], false), '{"token":"<secret>"}', "Go escapes U+2028 always");
  assert.equal(blankSecrets(`${go.slice(0, 30)}`, [secret], true), '{"password":"<secret>', "a JSON form's start at a cut end");
});

test("a cut text that ends in a character the cut split drops it, and the start of a secret before it is blanked", () => {
  const password = "pässwörd-s3cret";
  // "pässw" and the first byte of "ö", decoded: the incomplete sequence reads as U+FFFD.
  const bytes = Buffer.from(`denied: ${password}`).subarray(0, Buffer.byteLength("denied: pässw") + 1);
  assert.equal(bytes.toString("utf8"), "denied: pässw\uFFFD");
  assert.equal(blankSecrets(bytes.toString("utf8"), [password], true), "denied: <secret>");
  // Three bytes of a four-byte sequence decode to one U+FFFD too.
  assert.equal(blankSecrets(Buffer.from("ok 😀").subarray(0, 6).toString("utf8"), [], true), "ok ");
  // A cut in UTF-16 code units may leave half a surrogate pair.
  assert.equal(blankSecrets("ok 😀".slice(0, 4), [], true), "ok ");
  assert.equal(blankSecrets(`denied: ${"tok-😀-s3cret".slice(0, 5)}`, ["tok-😀-s3cret"], true), "denied: <secret>");
  assert.equal(blankSecrets("ends in \uFFFD", [password], false), "ends in \uFFFD", "a whole text is kept as it is");
});
