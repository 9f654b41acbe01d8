import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "./config-error.js";
import { contentDigest } from "./content-digest.js";
import { loadConfig } from "./load-config.js";

const dir = mkdtempSync(join(tmpdir(), "local-file-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A password with what a careless trim or a lossy decoding would lose: spaces, a newline, non-ASCII. */
const password = " p@ss wörd\n";
const passwordFile = join(dir, "password");
writeFileSync(passwordFile, password);
const urlFile = join(dir, "url");
writeFileSync(urlFile, "http://pyroscope:4040");

const receive = 'pyroscope.receive_http "in" {\n  forward_to = [pyroscope.write.out.receiver]\n}\n';

/** An endpoint that reads local.file "secret" (only what the relay's components read is evaluated). */
const reading = '    url = "http://a"\n    bearer_token = local.file.secret.content';
/** Where `reading` reports a local.file that has errors. */
const readingError = "7:20: local.file.secret cannot be read: the component has errors (reported at it)";

/** A configuration with a local.file "secret" reading the password file, `endpoint` as the write's endpoint body. */
function source(endpoint: string, localFile = `filename = ${JSON.stringify(passwordFile)}\n  is_secret = true`): string {
  return `${receive}pyroscope.write "out" {\n  endpoint {\n${endpoint}\n  }\n}\nlocal.file "secret" {\n  ${localFile}\n}\n`;
}

let configs = 0;
async function load(text: string) {
  const path = join(dir, `relay-${++configs}.alloy`);
  writeFileSync(path, text);
  return { path, config: await loadConfig(path, {}) };
}

async function errors(text: string): Promise<string[]> {
  const path = join(dir, `relay-${++configs}.alloy`);
  writeFileSync(path, text);
  const error = await loadConfig(path, {}).then(
    () => assert.fail("expected a ConfigError"),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof ConfigError, String(error));
  assert.ok(!error.message.includes("wörd"), `no secret in ${error.message}`);
  return error.message.split("\n").map((line) => line.slice(path.length + 1));
}

test("a secret local.file's content is a password or a bearer token, as the file holds it", async () => {
  const basic = await load(source('    url = "http://a"\n    basic_auth {\n      username = "u"\n      password = local.file.secret.content\n    }'));
  assert.deepEqual(basic.config.targets[0]?.auth, { kind: "basic", username: "u", password });
  const bearer = await load(source('    url = "http://a"\n    bearer_token = local.file.secret.content'));
  assert.deepEqual(bearer.config.targets[0]?.auth, { kind: "bearer", token: password });
  // A string joined to a secret is a secret, as in Alloy: fine where a secret goes.
  const joined = await load(source('    url = "http://a"\n    http_headers = { "X-Token" = ["t:" + local.file.secret.content] }'));
  assert.deepEqual(joined.config.targets[0]?.httpHeaders, { "X-Token": [`t:${password}`] });
});

test("lists its local.file components with their detector, for the running relay to watch", async () => {
  const defaults = await load(source(reading));
  assert.deepEqual(defaults.config.localFiles, [
    { label: "secret", path: passwordFile, detector: "fsnotify", pollFrequencyMs: 60_000, contentDigest: contentDigest(password) },
  ]);
  const polled = await load(source(reading, `filename = ${JSON.stringify(passwordFile)}\n  detector = "poll"\n  poll_frequency = "250ms"`));
  assert.deepEqual(
    polled.config.localFiles.map(({ detector, pollFrequencyMs }) => [detector, pollFrequencyMs]),
    [["poll", 250]],
  );
});

test("a content that is no secret goes anywhere a string does, a url included", async () => {
  const { config } = await load(source("    url = local.file.secret.content", `filename = ${JSON.stringify(urlFile)}`));
  assert.equal(config.targets[0]?.url, "http://pyroscope:4040");
});

test("refuses a secret where Alloy needs a plain string, unless nonsensitive makes it one", async () => {
  const secretUrl = source("    url = local.file.secret.content", `filename = ${JSON.stringify(urlFile)}\n  is_secret = true`);
  const refusal = "expected string, got secret: secrets may not be converted into strings (convert.nonsensitive(...) turns a value that is no secret into one)";
  assert.deepEqual(await errors(secretUrl), [`6:11: url: ${refusal}`]);
  assert.deepEqual(await errors(source('    url = "http://a"\n    basic_auth {\n      username = local.file.secret.content\n    }')), [
    `8:18: username: ${refusal}`,
  ]);
  // pyroscope.write's headers are plain strings in Alloy, unlike http_headers.
  assert.deepEqual(await errors(source('    url = "http://a"\n    headers = { "X-Token" = local.file.secret.content }')), [
    `7:29: headers["X-Token"]: ${refusal}`,
  ]);
  assert.deepEqual(await errors(source("    url = string.trim_space(local.file.secret.content)")), [
    "6:29: string.trim_space: argument 1: secrets may not be converted into strings (convert.nonsensitive(...) turns a value that is no secret into one)",
  ]);
  for (const call of ["nonsensitive", "convert.nonsensitive"]) {
    const { config } = await load(secretUrl.replace("url = local.file.secret.content", `url = ${call}(local.file.secret.content)`));
    assert.equal(config.targets[0]?.url, "http://pyroscope:4040");
  }
});

test("a missing file is an error naming the component and the path", async () => {
  const missing = join(dir, "not-here");
  const lines = await errors(source(reading, `filename = ${JSON.stringify(missing)}`));
  assert.equal(lines.length, 2);
  assert.equal(lines[0], readingError);
  assert.ok(lines[1]!.startsWith(`11:14: local.file "secret": cannot read ${JSON.stringify(missing)}: ENOENT`), lines[1]);
});

test("validates its arguments as Alloy does", async () => {
  const file = `filename = ${JSON.stringify(passwordFile)}`;
  assert.deepEqual(await errors(source(reading, `${file}\n  secret = true`)), [readingError, '12:3: unknown attribute "secret"']);
  assert.deepEqual(await errors(source(reading, `${file}\n  is_secret = "yes"`)), [readingError, "12:15: is_secret: expected bool, got string"]);
  assert.deepEqual(await errors(source(reading, "is_secret = true")), [readingError, '10:1: missing required attribute "filename"']);
  assert.deepEqual(await errors(source(reading, `${file}\n  detector = "inotify"`)), [
    readingError,
    '12:14: detector: unrecognized detector "inotify", expected fsnotify or poll',
  ]);
  assert.deepEqual(await errors(source(reading, `${file}\n  poll_frequency = "0s"`)), [readingError, "12:20: poll_frequency: must be greater than 0"]);
  assert.deepEqual(await errors(`${source('    url = "http://a"')}local.file {\n  ${file}\n}\n`), [
    '13:1: local.file needs a label, e.g. local.file "default" { ... }',
  ]);
});

test("a local.file that none of the relay's components reads is ignored as the components that read it are: its file is not read", async () => {
  const missing = join(dir, "only-where-alloy-runs");
  const { path, config } = await load(source('    url = "http://a"', `filename = ${JSON.stringify(missing)}\n  is_secret = true`));
  assert.deepEqual(config.localFiles, []);
  assert.deepEqual(config.ignored, [{ name: "local.file", label: "secret", file: path, line: 9, col: 1 }]);
});

test("refuses a reference to an undefined local.file or to an export it does not have", async () => {
  assert.deepEqual(await errors(source('    bearer_token = local.file.nope.content\n    url = "http://a"')), [
    '6:20: local.file.nope is not defined: the configuration has no local.file "nope" block',
  ]);
  assert.deepEqual(await errors(source('    bearer_token = local.file.secret.contents\n    url = "http://a"')), [
    '6:20: local.file.secret has no export "contents": local.file exports content',
  ]);
  assert.deepEqual(await errors(source('    bearer_token = local.file.secret.content.x\n    url = "http://a"')), ['6:20: cannot read field "x" of a secret']);
});

test("one local.file may read another's content, defined before or after it or in another file; a cycle is an error", async () => {
  const pathFile = join(dir, "path");
  writeFileSync(pathFile, passwordFile);
  const chained = `${source('    url = "http://a"\n    bearer_token = local.file.secret.content', "filename = local.file.path.content\n  is_secret = true")}local.file "path" {\n  filename = ${JSON.stringify(pathFile)}\n}\n`;
  const { config } = await load(chained);
  assert.deepEqual(config.targets[0]?.auth, { kind: "bearer", token: password });
  assert.deepEqual(
    config.localFiles.map(({ label }) => label),
    ["secret", "path"],
  );

  const directory = mkdtempSync(join(dir, "split-"));
  writeFileSync(join(directory, "a.alloy"), `local.file "path" {\n  filename = ${JSON.stringify(pathFile)}\n}\n`);
  writeFileSync(
    join(directory, "b.alloy"),
    source('    url = "http://a"\n    bearer_token = local.file.secret.content', "filename = local.file.path.content\n  is_secret = true"),
  );
  assert.deepEqual((await loadConfig(directory, {})).targets[0]?.auth, { kind: "bearer", token: password });

  const cycle = `${source(reading, "filename = local.file.other.content")}local.file "other" {\n  filename = local.file.secret.content\n}\n`;
  assert.deepEqual(await errors(cycle), [
    readingError,
    "11:14: local.file.other cannot be read: the component has errors (reported at it)",
    "14:14: local.file.secret depends on itself: local.file.secret -> local.file.other -> local.file.secret",
  ]);
});
