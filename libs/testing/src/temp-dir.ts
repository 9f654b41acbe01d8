import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Directories the harnesses made, removed when the test process exits unless `removeDir` did it before. */
const ownedDirs = new Set<string>();
process.once("exit", () => {
  for (const dir of ownedDirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh temp dir, removed at exit unless `removeDir` did it before. */
export function ownTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  ownedDirs.add(dir);
  return dir;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  ownedDirs.delete(dir);
}
