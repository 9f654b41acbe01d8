import { z } from "zod";
import { ComponentReference } from "./component-reference.js";
import { alloyString, duration, optionalBlock, wholeNumber } from "./schema-values.js";
import { describeValueType } from "./value-type.js";

/** The `http` block, with Alloy's defaults for every omitted attribute. */
const httpBlock = z.strictObject({
  listen_address: alloyString.default(""),
  listen_port: wholeNumber(0, 65535).default(8080),
  // Node rejects every connection when the limit is 0, so unlike Alloy 0 cannot mean "unlimited".
  conn_limit: wholeNumber(1).default(100),
  server_read_timeout: duration("30s"),
  server_write_timeout: duration("30s"),
  server_idle_timeout: duration("120s"),
});

const receiverReference = z.custom<ComponentReference>((value) => value instanceof ComponentReference, {
  error: (issue) =>
    `expected a reference such as pyroscope.write.default.receiver, got ${describeValueType(issue.input)}`,
});

/** The body of a `pyroscope.receive_http` component. */
export const receiveHttpSchema = z.strictObject({
  http: optionalBlock("http", httpBlock).transform((http) => http ?? httpBlock.parse({})),
  forward_to: z.array(receiverReference).min(1, { error: "must name at least one pyroscope.write receiver" }),
});

export type ReceiveHttpComponent = z.output<typeof receiveHttpSchema>;
