import assert from "node:assert/strict";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { testPki } from "./pki.js";

const pki = await testPki();
const ca = await pki.authority("test-ca");
const caCert = new X509Certificate(ca.cert.pem);

test("an authority is self-signed, its PEM text written to its files", async () => {
  assert.ok(caCert.checkIssued(caCert));
  assert.match(caCert.subject, /CN=test-ca/);
  assert.equal(await readFile(ca.cert.file, "utf8"), ca.cert.pem);
  assert.equal(await readFile(ca.key.file, "utf8"), ca.key.pem);
  assert.ok(ca.cert.file.startsWith(pki.dir));
});

test("a server certificate is signed by its authority for its DNS names and IPs", async () => {
  const server = await ca.issue("relay", { names: ["localhost", "127.0.0.1", "::1"] });
  const cert = new X509Certificate(server.cert.pem);
  assert.ok(cert.checkIssued(caCert));
  assert.ok(cert.verify(caCert.publicKey));
  assert.match(cert.subject, /CN=relay/);
  assert.ok(cert.checkHost("localhost"));
  assert.equal(cert.checkIP("127.0.0.1"), "127.0.0.1");
  assert.equal(cert.checkIP("::1"), "::1");
  assert.deepEqual(cert.keyUsage, ["1.3.6.1.5.5.7.3.1"]); // serverAuth
  assert.ok(cert.checkPrivateKey(createPrivateKey(server.key.pem)));
});

test("a client certificate is for client authentication, and another authority does not vouch for it", async () => {
  const client = await ca.issue("agent", { client: true });
  const cert = new X509Certificate(client.cert.pem);
  assert.deepEqual(cert.keyUsage, ["1.3.6.1.5.5.7.3.2"]); // clientAuth
  assert.equal(cert.subjectAltName, undefined);
  const other = new X509Certificate((await pki.authority("other-ca")).cert.pem);
  assert.ok(!cert.checkIssued(other));
  assert.ok(!cert.verify(other.publicKey));
  const again = new X509Certificate((await ca.issue("agent", { client: true })).cert.pem);
  assert.notEqual(again.serialNumber, cert.serialNumber);
});
