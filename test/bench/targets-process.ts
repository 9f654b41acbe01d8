// The stand-in Pyroscope targets of `npm run bench`, all in this one process (see targets.ts).
//   targets-process.ts <count> <sha256 of the expected body>
import { createHash } from "node:crypto";
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

const [count = "", bodySha256 = ""] = process.argv.slice(2);

// The writer forwards `name` as `bench{id=...,service_name=bench}`.
const idLabel = /[{,]id=([^,}]*)/;

async function startTarget(): Promise<Target> {
  const target: Target = { url: "", requests: 0, badBodies: 0, ids: new Set(), firstSeenAt: [] };
  const server = createServer((req, res) => {
    const hash = createHash("sha256");
    req.on("data", (chunk: Buffer) => hash.update(chunk));
    req.on("end", () => {
      target.requests++;
      if (hash.digest("hex") !== bodySha256) target.badBodies++;
      const name = new URL(req.url ?? "/", target.url).searchParams.get("name") ?? "";
      const id = idLabel.exec(name)?.[1];
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
