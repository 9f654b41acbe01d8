// The baseline of `npm run bench`: the least an HTTP endpoint on this Node does per profile (read the
// whole body into memory, answer 200), in its own process as the relay's ingest is.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { ChildMessage } from "./child-process.js";

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    // The body in one piece, as any handler that does something with it needs it.
    Buffer.concat(chunks);
    res.writeHead(200).end();
  });
});
server.listen(0, "127.0.0.1", () => {
  process.send!({ ready: { port: (server.address() as AddressInfo).port } } satisfies ChildMessage);
});
// The bench is gone (crashed or killed): nothing would stop this process otherwise.
process.on("disconnect", () => process.exit(0));
