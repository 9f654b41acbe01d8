import { z } from "zod";
import { checkHttpClient, headerName, httpClientShape, isHttpUrl } from "./http-client-schema.js";
import { alloyBoolean, alloyString, blockList, duration, nullAs, optionalBlock, wholeNumber, type FileReader } from "./schema-values.js";

/** Pyroscope's label name characters. */
const labelName = /^[A-Za-z0-9_.]+$/;

function stringMap(validKey: RegExp, invalidKeyMessage: string) {
  return nullAs({}, z.record(z.string(), alloyString))
    .superRefine((map, ctx) => {
      for (const key of Object.keys(map)) {
        if (!validKey.test(key)) ctx.addIssue({ code: "custom", path: [key], message: invalidKeyMessage });
      }
    })
    .default(() => ({}));
}

function hasNoUserinfo(text: string): boolean {
  return !isHttpUrl(text) || (new URL(text).username === "" && new URL(text).password === "");
}

/** In an http URL, `?` and `#` can only start a query or a fragment (even an empty one). */
function hasNoQueryOrFragment(text: string): boolean {
  return !isHttpUrl(text) || !/[?#]/.test(text);
}

/**
 * The body of a `pyroscope.write` component. Files named by `*_file` attributes are read through
 * `readFile` while validating, so a missing file is reported at its attribute.
 */
export function writeSchema(readFile: FileReader) {
  const endpoint = z
    .strictObject({
      url: alloyString
        .refine(isHttpUrl, { error: "must be an absolute http:// or https:// URL" })
        // The URL is shown in metrics and logs: credentials belong in basic_auth, which keeps them secret.
        .refine(hasNoUserinfo, { error: "must not contain credentials: use a basic_auth block" })
        // Never sent (requests go to the URL's path), while shown like the rest; in Alloy the
        // request path would end up inside the query, so such an endpoint never worked there either.
        .refine(hasNoQueryOrFragment, { error: "must not contain a query or fragment (it would never be sent)" }),
      name: alloyString.default(""),
      remote_timeout: duration("10s"),
      debug_info_upload_timeout: duration("2m"),
      headers: stringMap(headerName, "invalid HTTP header name"),
      // A minimum over the maximum is taken as Alloy takes it: dskit's backoff then waits the minimum every time.
      min_backoff_period: duration("500ms"),
      max_backoff_period: duration("5m"),
      // Any int, as in Alloy: dskit's backoff goes on only while its retry count (1 after the first
      // failure) is below a limit other than 0, so a negative one means a single attempt, as 1 does.
      max_backoff_retries: wholeNumber()
        .transform((retries) => (retries < 0 ? 1 : retries))
        .default(10),
      retry_on_http_429: alloyBoolean.default(true),
      ...httpClientShape(readFile),
    })
    .superRefine(checkHttpClient);

  // Alloy's trace context propagation of its requests, on by default; the relay sends none.
  const tracing = z.strictObject({
    jaeger_propagator: alloyBoolean.default(true),
    trace_context_propagator: alloyBoolean.default(true),
  });

  return z.strictObject({
    external_labels: stringMap(labelName, 'invalid label name; use letters, digits, "_" and "."'),
    endpoint: blockList("endpoint", endpoint).min(1, { error: "at least one endpoint block is required" }).prefault([]),
    tracing: optionalBlock("tracing", tracing),
  });
}

export type WriteComponent = z.output<ReturnType<typeof writeSchema>>;
