// The stand-in Pyroscope targets of `npm run bench`, all in this one process (see targets.ts).
//   targets-process.ts <count> <file holding the expected body>
// They share the machine with the relay under test, so they do as little as an exact check allows:
// the body compared byte for byte, the profile id read from the raw query.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { ChildMessage, ChildRequest } from "./child-process.js";
import type { StatsRequest, TargetCounts } from "./targets.js";

interface Target {
  url: string;
  requests: number;
  badBodies: number;
  ids: Set<string>;
  /** `Date.now()` at which the n-th distinct id arrived, at index n - 1. */
  firstSeenAt: number[];
}

const [count = "", bodyFile = ""] = process.argv.slice(2);
const expected = readFileSync(bodyFile);

// The writer forwards `name` as `bench{id=...,service_name=bench}`, URL-encoded in the query.
const idLabel = /[?&]name=[^&]*?(?:%7B|%2C)id%3D([^&%]*)/i;

async function startTarget(): Promise<Target> {
  const target: Target = { url: "", requests: 0, badBodies: 0, ids: new Set(), firstSeenAt: [] };
  const server = createServer((req, res) => {
    let offset = 0;
    let same = true;
    req.on("data", (chunk: Buffer) => {
      same &&= offset + chunk.length <= expected.length && chunk.equals(expected.subarray(offset, offset + chunk.length));
      offset += chunk.length;
    });
    req.on("end", () => {
      target.requests++;
      if (!same || offset !== expected.length) target.badBodies++;
      const id = idLabel.exec(req.url ?? "")?.[1];
      if (id !== undefined && !target.ids.has(id)) {
        target.ids.add(id);
        target.firstSeenAt.push(Date.now());
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  target.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return target;
}

const targets = await Promise.all(Array.from({ length: Number(count) }, startTarget));

process.on("message", ({ id, message }: ChildRequest) => {
  const { thresholds } = message as StatsRequest;
  const reply: TargetCounts[] = targets.map((t, i) => {
    const threshold = thresholds?.[i];
    return {
      url: t.url,
      requests: t.requests,
      distinct: t.ids.size,
      badBodies: t.badBodies,
      reachedAt: threshold === undefined ? null : (t.firstSeenAt[threshold - 1] ?? null),
    };
  });
  process.send!({ id, reply } satisfies ChildMessage);
});
process.send!({ ready: { urls: targets.map((t) => t.url) } } satisfies ChildMessage);
// The bench is gone (crashed or killed): nothing would stop this process otherwise.
process.on("disconnect", () => process.exit(0));
