import { z } from "zod";
import { checkHttpClient, headerName, httpClientShape, isHttpUrl } from "./http-client-schema.js";
import { alloyBoolean, alloyString, blockList, duration, nullAs, wholeNumber, type FileReader } from "./schema-values.js";

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
        .refine(hasNoQueryOrFragment, { error: "must not contain a query or fragment; put credentials in basic_auth, bearer_token, oauth2 or headers" }),
      name: alloyString.default(""),
      remote_timeout: duration("10s"),
      debug_info_upload_timeout: duration("2m"),
      headers: stringMap(headerName, "invalid HTTP header name"),
      min_backoff_period: duration("500ms"),
      max_backoff_period: duration("5m"),
      max_backoff_retries: wholeNumber(0).default(10),
      retry_on_http_429: alloyBoolean.default(true),
      ...httpClientShape(readFile),
    })
    .superRefine((endpoint, ctx) => {
      checkHttpClient(endpoint, ctx);
      if (endpoint.min_backoff_period > endpoint.max_backoff_period) {
        ctx.addIssue({
          code: "custom",
          path: ["min_backoff_period"],
          message: "must not be longer than max_backoff_period",
        });
      }
    });

  return z.strictObject({
    external_labels: stringMap(labelName, 'invalid label name; use letters, digits, "_" and "."'),
    endpoint: blockList("endpoint", endpoint).min(1, { error: "at least one endpoint block is required" }).prefault([]),
  });
}

export type WriteComponent = z.output<ReturnType<typeof writeSchema>>;
