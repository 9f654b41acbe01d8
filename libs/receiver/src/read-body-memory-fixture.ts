// Test support, run as a process of its own with --expose-gc (read-body.test.ts): reads one chunked
// body of `n` 1-byte chunks with readBody and prints, as JSON, how much the heap grew while every
// chunk had arrived (measured on the request's 'end', before readBody's own listener runs).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { createLogger, RelayMetrics } from "@pyroscope-relay/ops";
import { BodyBudget } from "./body-budget.js";
import { readBody } from "./read-body.js";
import { ThrottledLog } from "@pyroscope-relay/ops";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("read-body-memory-fixture needs node --expose-gc");
const n = Number(process.argv[2]);
const body = Buffer.alloc(n, "x");
const wire = Buffer.from(`${"1\r\nx\r\n".repeat(n)}0\r\n\r\n`, "latin1");

const bodies = new BodyBudget(0, new RelayMetrics(), new ThrottledLog(createLogger({ level: "silent" })));
let heapGrowth = 0;
gc();
const baseline = process.memoryUsage().heapUsed;
const server = createServer((req, res) => {
  req.once("end", () => {
    gc();
    heapGrowth = process.memoryUsage().heapUsed - baseline;
  });
  readBody(req, 2 * n, bodies.hold("fixture", "ingest")).then(
    (received) => res.end(JSON.stringify({ heapGrowth, intact: received.equals(body) })),
    (err: unknown) => res.end(JSON.stringify({ error: String(err) })),
  );
});
server.listen(0, "127.0.0.1", () => {
  const socket = connect((server.address() as AddressInfo).port, "127.0.0.1");
  let answer = "";
  socket.setEncoding("latin1").on("data", (text: string) => {
    answer += text;
    if (!answer.endsWith("}")) return;
    process.stdout.write(answer.slice(answer.indexOf("\r\n\r\n") + 4));
    socket.destroy();
    server.close();
  });
  socket.write("POST /ingest HTTP/1.1\r\nHost: relay\r\nTransfer-Encoding: chunked\r\n\r\n");
  socket.write(wire);
});
