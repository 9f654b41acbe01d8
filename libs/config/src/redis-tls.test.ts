import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseSettings } from "./parse-settings.js";
import { readRedisTls } from "./redis-tls.js";
import { selfSigned } from "./self-signed-fixture.js";
import { SettingsError } from "./settings-error.js";

const pki = selfSigned(["authority", "client", "other"]);
const { authority, client, other } = pki;
const read = (path: string) => readFileSync(path, "utf8");
const settings = (...flags: string[]) => parseSettings(["--redis.url=rediss://redis.internal:6380", ...flags], {}).settings;

test("reads the files of the TLS settings into PEM texts, with the server name", () => {
  assert.equal(readRedisTls(settings(), read), undefined);
  assert.deepEqual(
    readRedisTls(
      settings(`--redis.tls-ca-file=${authority.certFile}`, `--redis.tls-cert-file=${client.certFile}`, `--redis.tls-key-file=${client.keyFile}`),
      read,
    ),
    { ca: authority.cert, cert: client.cert, key: client.key },
  );
  assert.deepEqual(readRedisTls(settings("--redis.tls-server-name=redis.internal"), read), { serverName: "redis.internal" });
});

test("a file that cannot be read, holds no certificate, or a key that is not its certificate's is refused naming the flag, never its contents", () => {
  const refused = (flags: string[], setting: string, message: RegExp) =>
    assert.throws(
      () => readRedisTls(settings(...flags), read),
      (error: unknown) => {
        assert.ok(error instanceof SettingsError);
        assert.equal(error.setting, setting);
        assert.match(error.message, message);
        assert.doesNotMatch(error.message, /BEGIN|PRIVATE/);
        return true;
      },
    );
  const missing = join(pki.dir, "missing.pem");
  const empty = join(pki.dir, "empty.pem");
  writeFileSync(empty, "\n");
  refused(
    [`--redis.tls-cert-file=${empty}`, `--redis.tls-key-file=${client.keyFile}`],
    "--redis.tls-cert-file (or RELAY_REDIS_TLS_CERT_FILE)",
    /^--redis\.tls-cert-file \(or RELAY_REDIS_TLS_CERT_FILE\): ".*empty\.pem" is empty$/,
  );
  refused(
    [`--redis.tls-ca-file=${missing}`],
    "--redis.tls-ca-file (or RELAY_REDIS_TLS_CA_FILE)",
    /^--redis\.tls-ca-file \(or RELAY_REDIS_TLS_CA_FILE\): cannot read ".*missing\.pem": ENOENT/,
  );
  // A key file given as the authority: no certificate in it.
  refused(
    [`--redis.tls-ca-file=${client.keyFile}`],
    "--redis.tls-ca-file (or RELAY_REDIS_TLS_CA_FILE)",
    /^--redis\.tls-ca-file \(or RELAY_REDIS_TLS_CA_FILE\): ".*" does not load: /,
  );
  refused(
    [`--redis.tls-cert-file=${client.certFile}`, `--redis.tls-key-file=${other.keyFile}`],
    "--redis.tls-cert-file (or RELAY_REDIS_TLS_CERT_FILE)",
    /^--redis\.tls-cert-file \(or RELAY_REDIS_TLS_CERT_FILE\): ".*" does not load: .*key values mismatch/,
  );
});
