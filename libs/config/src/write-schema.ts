import { z } from "zod";
import {
  alloyString,
  blockList,
  duration,
  fileContents,
  optionalBlock,
  wholeNumber,
  type FileReader,
} from "./schema-values.js";

/** HTTP header names are RFC 9110 tokens. */
const headerName = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Pyroscope's label name characters. */
const labelName = /^[A-Za-z0-9_.]+$/;

function stringMap(validKey: RegExp, invalidKeyMessage: string) {
  return z
    .record(z.string(), alloyString)
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

function isHttpUrl(text: string): boolean {
  return URL.canParse(text) && ["http:", "https:"].includes(new URL(text).protocol);
}

const authMethods = ["basic_auth", "bearer_token", "bearer_token_file"] as const;

/**
 * The body of a `pyroscope.write` component. Files named by `*_file` attributes are read through
 * `readFile` while validating, so a missing file is reported at its attribute.
 */
export function writeSchema(readFile: FileReader) {
  const secretFile = fileContents(readFile, { trimTrailingNewline: true });
  const pemFile = fileContents(readFile, { trimTrailingNewline: false });

  const basicAuth = z
    .strictObject({
      username: alloyString.default(""),
      password: alloyString.optional(),
      password_file: secretFile.optional(),
    })
    .superRefine((auth, ctx) => {
      if (auth.password !== undefined && auth.password_file !== undefined) {
        ctx.addIssue({ code: "custom", path: ["password_file"], message: "set password or password_file, not both" });
      }
    });

  const tlsConfig = z
    .strictObject({
      ca_file: pemFile.optional(),
      cert_file: pemFile.optional(),
      key_file: pemFile.optional(),
      insecure_skip_verify: z.boolean().default(false),
      server_name: alloyString.optional(),
    })
    .superRefine((tls, ctx) => {
      if ((tls.cert_file === undefined) !== (tls.key_file === undefined)) {
        const given = tls.cert_file === undefined ? "key_file" : "cert_file";
        ctx.addIssue({ code: "custom", path: [given], message: "cert_file and key_file must be set together" });
      }
    });

  const endpoint = z
    .strictObject({
      url: alloyString
        .refine(isHttpUrl, { error: "must be an absolute http:// or https:// URL" })
        // The URL is shown in metrics and logs: credentials belong in basic_auth, which keeps them secret.
        .refine(hasNoUserinfo, { error: "must not contain credentials: use a basic_auth block" }),
      name: alloyString.default(""),
      remote_timeout: duration("10s"),
      headers: stringMap(headerName, "invalid HTTP header name"),
      min_backoff_period: duration("500ms"),
      max_backoff_period: duration("5m"),
      max_backoff_retries: wholeNumber(0).default(10),
      retry_on_http_429: z.boolean().default(true),
      basic_auth: optionalBlock("basic_auth", basicAuth),
      bearer_token: alloyString.optional(),
      bearer_token_file: secretFile.optional(),
      tls_config: optionalBlock("tls_config", tlsConfig),
    })
    .superRefine((endpoint, ctx) => {
      const [, second] = authMethods.filter((method) => endpoint[method] !== undefined);
      if (second) {
        ctx.addIssue({ code: "custom", path: [second], message: `set at most one of ${authMethods.join(", ")}` });
      }
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
    endpoint: blockList("endpoint", endpoint)
      .min(1, { error: "at least one endpoint block is required" })
      .prefault([]),
  });
}

export type WriteComponent = z.output<ReturnType<typeof writeSchema>>;
