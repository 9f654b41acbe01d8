import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startFakeTarget, type FakeTarget } from "@pyroscope-relay/testing";
import { relayConfig } from "./relay-config.js";

/** Two fake targets, a and b, and a relay configuration that forwards to both from a receiver on a free port. */
export interface TwoTargets {
  a: FakeTarget;
  b: FakeTarget;
  /** The receiver's base URL. */
  baseUrl: string;
  config: string;
  /** The configuration, in a file of a directory of its own. */
  configPath: string;
  /** Closes the targets and removes the configuration's directory. */
  close(): Promise<void>;
}

export async function startTwoTargets(dirPrefix: string): Promise<TwoTargets> {
  const a = await startFakeTarget();
  const b = await startFakeTarget();
  const port = await freePort();
  const config = relayConfig({
    port,
    targets: [
      { name: "a", url: a.url },
      { name: "b", url: b.url },
    ],
  });
  const dir = await mkdtemp(join(tmpdir(), dirPrefix));
  const configPath = join(dir, "relay.alloy");
  await writeFile(configPath, config);
  return {
    a,
    b,
    baseUrl: `http://127.0.0.1:${port}`,
    config,
    configPath,
    close: async () => {
      await a.close();
      await b.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
