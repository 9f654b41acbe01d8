// For specs: self-signed certificates with their keys, made by openssl in a directory removed after
// the spec file (libs/config's specs cannot use libs/testing's PKI).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";

export interface SelfSigned {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

/** One self-signed certificate per name, in a fresh directory (`dir`). */
export function selfSigned<Name extends string>(names: readonly Name[]): { dir: string } & Record<Name, SelfSigned> {
  const dir = mkdtempSync(join(tmpdir(), "relay-config-pki-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const made = {} as Record<Name, SelfSigned>;
  for (const name of names) {
    const keyFile = join(dir, `${name}.key`);
    const certFile = join(dir, `${name}.crt`);
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "1",
        "-subj",
        `/CN=${name}`,
        "-keyout",
        keyFile,
        "-out",
        certFile,
      ],
      { stdio: "ignore" },
    );
    made[name] = { keyFile, certFile, key: readFileSync(keyFile, "utf8"), cert: readFileSync(certFile, "utf8") };
  }
  return { dir, ...made };
}
