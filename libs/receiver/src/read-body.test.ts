import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

test("a body sent in 1-byte chunks costs memory in proportion to its size, not a Buffer per chunk", async () => {
  const chunks = 300_000;
  const fixture = fileURLToPath(new URL("./read-body-memory-fixture.ts", import.meta.url));
  const child = spawn(process.execPath, [...process.execArgv, "--expose-gc", fixture, String(chunks)], { stdio: ["ignore", "pipe", "inherit"] });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => (output += text));
  const [code] = (await once(child, "exit")) as [number | null];
  assert.equal(code, 0, output);
  const { heapGrowth, intact } = JSON.parse(output) as { heapGrowth: number; intact: boolean };
  assert.equal(intact, true, "the body arrived as sent");
  // A Buffer kept per chunk costs ~200 bytes of heap each (60 MB here); one buffer for the body none.
  assert.ok(heapGrowth < 16 * chunks, `the heap grew by ${heapGrowth} bytes for a body of ${chunks} bytes`);
});

test("a body that declares 32 MiB and sends two bytes holds no more than it sent, grown by doubling", async () => {
  const fixture = fileURLToPath(new URL("./read-body-declared-fixture.ts", import.meta.url));
  const child = spawn(process.execPath, [...process.execArgv, fixture, String(32 * 2 ** 20)], { stdio: ["ignore", "pipe", "inherit"] });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => (output += text));
  const [code] = (await once(child, "exit")) as [number | null];
  assert.equal(code, 0, output);
  const { growth } = JSON.parse(output) as { growth: number };
  // Its first block (64 KiB), not the 32 MiB it declared.
  assert.ok(growth < 2 ** 20, `memory outside the heap grew by ${growth} bytes`);
});
