// Certificate authorities and certificates made with `openssl` when a spec needs them, in a temporary
// directory removed after the spec file.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface Pem {
  /** PEM text, and the file that holds it. */
  pem: string;
  file: string;
}

export interface Issued {
  cert: Pem;
  key: Pem;
}

/** A self-signed certificate authority; its own certificate and key also serve as a certificate no one trusts. */
export interface Authority extends Issued {
  /**
   * A certificate signed by this authority: a server's for `names` (DNS names or IPs), a client's, or
   * with `peer` both (a Redis Cluster node's, which dials the other nodes with it).
   */
  issue(commonName: string, options: { names?: string[]; client?: boolean; peer?: boolean }): Promise<Issued>;
}

/** A directory for the spec file's certificates; `authority(name)` makes a self-signed CA in it. */
export async function testPki(): Promise<{ dir: string; authority(name: string): Promise<Authority> }> {
  const dir = await mkdtemp(join(tmpdir(), "relay-pki-"));
  after(() => rm(dir, { recursive: true, force: true }));
  let serial = 0;
  const pem = async (file: string): Promise<Pem> => ({ pem: await readFile(file, "utf8"), file });
  const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

  return {
    dir,
    async authority(name) {
      const base = join(dir, name);
      await run("openssl", ["req", "-x509", ...newKey, "-keyout", `${base}.key`, "-out", `${base}.pem`, "-days", "2", "-subj", `/CN=${name}`]);
      return {
        cert: await pem(`${base}.pem`),
        key: await pem(`${base}.key`),
        async issue(commonName, { names = [], client = false, peer = false }) {
          const out = join(dir, `${name}-${commonName}-${++serial}`);
          await run("openssl", ["req", "-new", ...newKey, "-keyout", `${out}.key`, "-out", `${out}.csr`, "-subj", `/CN=${commonName}`]);
          const alt = names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(",");
          const usage = peer ? "serverAuth,clientAuth" : client ? "clientAuth" : "serverAuth";
          const extensions = [`extendedKeyUsage=${usage}`, ...(alt ? [`subjectAltName=${alt}`] : [])];
          await writeFile(`${out}.ext`, `${extensions.join("\n")}\n`);
          await run("openssl", [
            "x509",
            "-req",
            "-in",
            `${out}.csr`,
            "-CA",
            `${base}.pem`,
            "-CAkey",
            `${base}.key`,
            "-set_serial",
            String(serial),
            "-days",
            "2",
            "-extfile",
            `${out}.ext`,
            "-out",
            `${out}.pem`,
          ]);
          return { cert: await pem(`${out}.pem`), key: await pem(`${out}.key`) };
        },
      };
    },
  };
}
