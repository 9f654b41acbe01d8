// The baselines of `npm run bench`, in their own process as the relay's ingest is:
//   bare-endpoint-process.ts                  the least an HTTP endpoint on this Node does per
//                                             profile: read the whole body, answer 200;
//   bare-endpoint-process.ts <redis socket>   the least a durable one does: the same, answering 200
//                                             once Redis has stored the body (a SET PX, fsynced as the
//                                             bench's Redis is set up). Redis writes the AOF of the
//                                             requests it read in one turn of its loop with one fsync:
//                                             every concurrent request shares it, with no code here.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import type { ChildMessage } from "./child-process.js";

const [socketPath] = process.argv.slice(2);
const redis = socketPath === undefined ? undefined : new Redis({ path: socketPath, enableReadyCheck: false, maxRetriesPerRequest: 1 });
// Bodies overwrite one another in this many keys: the AOF gets every byte (the cost measured) while
// memory stays small, so that an AOF rewrite (at 1 GiB written) copies megabytes, not gigabytes.
const KEYS = 1024;
let stored = 0;

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    // The body in one piece, as any handler that does something with it needs it.
    const body = Buffer.concat(chunks);
    if (redis === undefined) {
      res.writeHead(200).end();
      return;
    }
    redis.set(`bare:${stored++ % KEYS}`, body, "PX", 3_600_000).then(
      () => res.writeHead(200).end(),
      (error: Error) => res.writeHead(503).end(error.message),
    );
  });
});
server.listen(0, "127.0.0.1", () => {
  process.send!({ ready: { port: (server.address() as AddressInfo).port } } satisfies ChildMessage);
});
// The bench is gone (crashed or killed): nothing would stop this process otherwise.
process.on("disconnect", () => process.exit(0));
