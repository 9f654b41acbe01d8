/**
 * Shared by the receiver specs only (not exported from the package): certificates made by openssl
 * at test time, in a temporary directory removed after the test file.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";

export interface KeyPair {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

export interface TestPki {
  /** The CA that signed `server` and `client`. */
  ca: KeyPair;
  /** For 127.0.0.1, ::1 and localhost. */
  server: KeyPair;
  /** A client certificate the CA signed. */
  client: KeyPair;
  /** A self-signed client certificate no one trusts. */
  stranger: KeyPair;
}

/** A CA, a server and a client certificate it signed, and a self-signed stranger (EC P-256, one day). */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "receiver-pki-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  const newKey = (name: string) => openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", `${name}.key`);
  const read = (name: string): KeyPair => ({
    certFile: join(dir, `${name}.crt`),
    keyFile: join(dir, `${name}.key`),
    cert: readFileSync(join(dir, `${name}.crt`), "utf8"),
    key: readFileSync(join(dir, `${name}.key`), "utf8"),
  });
  const selfSigned = (name: string, extensions: string[]) => {
    newKey(name);
    openssl("req", "-x509", "-new", "-key", `${name}.key`, "-days", "1", "-subj", `/CN=${name}`, ...extensions.flatMap((e) => ["-addext", e]), "-out", `${name}.crt`);
  };
  const signed = (name: string, extensions: string) => {
    newKey(name);
    openssl("req", "-new", "-key", `${name}.key`, "-subj", `/CN=${name}`, "-out", `${name}.csr`);
    writeFileSync(join(dir, `${name}.ext`), extensions);
    openssl("x509", "-req", "-in", `${name}.csr`, "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-extfile", `${name}.ext`, "-out", `${name}.crt`);
  };
  selfSigned("ca", ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"]);
  signed("server", "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  signed("client", "extendedKeyUsage=clientAuth\n");
  selfSigned("stranger", ["extendedKeyUsage=clientAuth"]);
  return { ca: read("ca"), server: read("server"), client: read("client"), stranger: read("stranger") };
}
