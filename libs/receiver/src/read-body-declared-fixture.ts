// Test support, run as a process of its own (read-body.test.ts): a request declares `declared` bytes
// and sends two of them, in two reads; prints, as JSON, how much memory outside the heap (array
// buffers) grew once readBody had both.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import { createLogger, RelayMetrics } from "@pyroscope-relay/ops";
import { BodyBudget } from "./body-budget.js";
import { readBody } from "./read-body.js";
import { ThrottledLog } from "@pyroscope-relay/ops";

const declared = Number(process.argv[2]);
const bodies = new BodyBudget(0, new RelayMetrics(), new ThrottledLog(createLogger({ level: "silent" })));
const baseline = process.memoryUsage().arrayBuffers;
const server = createServer((req, res) => {
  let reads = 0;
  req.on("data", () => {
    if (++reads < 2) return;
    // After readBody's own listener has taken this read.
    setImmediate(() => {
      process.stdout.write(JSON.stringify({ growth: process.memoryUsage().arrayBuffers - baseline }));
      process.exit(0);
    });
  });
  readBody(req, 2 * declared, bodies.hold("fixture", "ingest")).catch(() => undefined);
  res.on("error", () => undefined);
});
server.listen(0, "127.0.0.1", () => {
  const socket = connect((server.address() as AddressInfo).port, "127.0.0.1");
  socket.setNoDelay(true).on("error", () => undefined);
  socket.write(`POST /ingest HTTP/1.1\r\nHost: relay\r\nContent-Length: ${declared}\r\n\r\nx`);
  setTimeout(() => socket.write("y"), 50);
});
