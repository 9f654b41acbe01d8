import { readFile } from "node:fs/promises";
import { STATUS_CODES } from "node:http";
import { join } from "node:path";
import type { Dispatcher } from "undici";
import type { Environment, KubernetesClientConfig, KubernetesHttpClient, KubernetesObjectRequest } from "@pyroscope-relay/config";
import { DeliveryError } from "./delivery-error.js";
import { HttpDispatcher } from "./http-dispatcher.js";
import { decodeBase64, KubeconfigError, readKubeconfig } from "./kubeconfig.js";
import { requestAuth } from "./request-auth.js";
import { SentCredentials } from "./sent-credentials.js";
import { RELAY_USER_AGENT } from "./target-client.js";

export interface KubernetesReadOptions {
  /** Where in-cluster config reads KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT, and proxy_from_environment its variables. */
  env: Environment;
  /** The service account's directory (default /var/run/secrets/kubernetes.io/serviceaccount): token and ca.crt, for in-cluster config; tests point it elsewhere. */
  serviceAccountDir?: string;
  signal?: AbortSignal;
}

export const defaultServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

/** An object is at most about 1.5 MiB (etcd's limit on a value), its Secret data 4/3 of it in base64: more is not an object. */
const maxAnswerBytes = 8 * 1024 * 1024;

/** How much of a Kubernetes Status message an error quotes. */
const maxQuotedChars = 500;

/**
 * A Secret or ConfigMap that could not be read. The message names the object first
 * (`secret monitoring/creds: ...`, `secret monitoring/creds not found`) and never a credential.
 */
export class KubernetesReadError extends Error {
  override readonly name = "KubernetesReadError";

  constructor(
    /** `secret monitoring/creds`. */
    readonly object: string,
    message: string,
    /** The status the Kubernetes API answered, when it answered. */
    readonly status: number | undefined,
    options: { cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
  }
}

/**
 * Reads the object, as Alloy's remote.kubernetes.secret and remote.kubernetes.configmap do: one GET
 * of the Kubernetes API, the whole read bounded by `request.timeoutMs` (poll_timeout) and
 * `options.signal`. Resolves with its data: a Secret's `data` values base64-decoded to UTF-8
 * strings, a ConfigMap's `data` as is (binaryData ignored, as Alloy does). An object without data → {}.
 * Credentials (service account token, kubeconfig) are read again at every read: they rotate.
 */
export async function readKubernetesObject(request: KubernetesObjectRequest, options: KubernetesReadOptions): Promise<Record<string, string>> {
  const object = `${request.kind} ${request.namespace}/${request.name}`;
  const timeout = AbortSignal.timeout(request.timeoutMs);
  const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]);
  let origin: string | undefined;
  try {
    const http = await clientSettings(request.client, options, signal);
    origin = new URL(http.url).origin;
    const answer = await get(request, http, options.env, signal);
    if (answer.status === 200) return objectData(request, object, answer.body);
    throw refusal(request, object, answer);
  } catch (error) {
    if (error instanceof KubernetesReadError) throw error;
    // Aborts first: a file read or a connection cut short by them fails with an error of its own.
    const detail = timeout.aborted
      ? `no answer within ${request.timeoutMs} ms (poll_timeout)`
      : options.signal?.aborted
        ? "the read was cancelled"
        : error instanceof KubeconfigError || error instanceof DeliveryError || error instanceof DescribedError
          ? error.message
          : `cannot reach the Kubernetes API${origin === undefined ? "" : ` at ${origin}`}: ${transportDetail(error)}`;
    throw new KubernetesReadError(object, `${object}: ${detail}`, undefined, { cause: error });
  }
}

/** A failure the reader describes in its own words: not in a pod, a token file it cannot read, an answer too large. */
class DescribedError extends Error {
  override readonly name = "DescribedError";
}

/** The HTTP client settings a `client` block stands for. */
async function clientSettings(client: KubernetesClientConfig, options: KubernetesReadOptions, signal: AbortSignal): Promise<KubernetesHttpClient> {
  switch (client.kind) {
    case "api-server":
      return client.http;
    case "kubeconfig":
      return readKubeconfig(client.path, signal);
    case "in-cluster":
      return inCluster(options.env, options.serviceAccountDir ?? defaultServiceAccountDir, signal);
  }
}

/**
 * As client-go's rest.InClusterConfig: the API server the pod's environment names, the service
 * account's token (read at every read: bound tokens rotate) and CA (system roots when there is none,
 * as client-go goes on without it); the environment's proxy, as client-go's transport uses it.
 */
async function inCluster(env: Environment, dir: string, signal: AbortSignal): Promise<KubernetesHttpClient> {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new DescribedError(
      "not running in a Kubernetes pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set; give the component a client block with api_server or kubeconfig_file",
    );
  }
  const tokenFile = join(dir, "token");
  const token = await readFile(tokenFile, { encoding: "utf8", signal }).then(
    (contents) => contents.trim(),
    (cause: unknown) => {
      throw new DescribedError(`cannot read the service account token ${JSON.stringify(tokenFile)}: ${errorCode(cause)}`, { cause });
    },
  );
  const ca = await readFile(join(dir, "ca.crt"), { encoding: "utf8", signal }).catch((cause: unknown) => {
    if (errorCode(cause) === "ENOENT") return undefined;
    throw new DescribedError(`cannot read the service account CA ${JSON.stringify(join(dir, "ca.crt"))}: ${errorCode(cause)}`, { cause });
  });
  return {
    url: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    auth: token === "" ? { kind: "none" } : { kind: "bearer", token },
    tls: { insecureSkipVerify: false, ...(ca === undefined ? {} : { ca }) },
    proxy: { kind: "environment" },
  };
}

interface Answer {
  status: number;
  body: string;
  /** Blanks the request's credentials out of a text quoting the answer. */
  withoutCredentials(text: string): string;
}

/**
 * The GET, through the relay's HTTP plumbing (TLS, proxy, redirects, auth), with pools and token
 * sources made for this read alone and closed after it: reads are a minute or so apart.
 */
async function get(request: KubernetesObjectRequest, http: KubernetesHttpClient, env: Environment, signal: AbortSignal): Promise<Answer> {
  const base = new URL(http.url);
  const resource = request.kind === "secret" ? "secrets" : "configmaps";
  // A server URL may have a path (an API behind a gateway): the API's paths go below it, as client-go puts them.
  const path = `${base.pathname.replace(/\/+$/, "")}/api/v1/namespaces/${encodeURIComponent(request.namespace)}/${resource}/${encodeURIComponent(request.name)}`;
  const dispatcher = new HttpDispatcher({
    tls: http.tls,
    proxy: http.proxy,
    allowH2: http.enableHttp2 ?? true,
    followRedirects: http.followRedirects ?? true,
    connectTimeoutMs: request.timeoutMs,
    env,
  });
  const auth = requestAuth(http.auth, { timeoutMs: request.timeoutMs, env });
  try {
    const httpHeaders = Object.entries(http.httpHeaders ?? {}).flatMap(([name, values]) => values.flatMap((value) => [name, value]));
    const configures = (name: string) => Object.keys(http.httpHeaders ?? {}).some((configured) => configured.toLowerCase() === name);
    // An Authorization of http_headers wins over the auth block, as for a target.
    const authorization = configures("authorization") ? undefined : await auth.header(signal);
    const response = await dispatcher.request({
      origin: base.origin,
      path,
      method: "GET",
      headers: [
        "Accept",
        "application/json",
        ...(configures("user-agent") ? [] : RELAY_USER_AGENT),
        ...httpHeaders,
        ...(authorization === undefined ? [] : ["Authorization", authorization]),
      ],
      body: null,
      signal,
    });
    const body = await readBody(response.body);
    const credentials = new SentCredentials({ headers: {}, httpHeaders: http.httpHeaders, proxy: http.proxy }, env);
    return { status: response.statusCode, body, withoutCredentials: (text) => credentials.blank(text, authorization, false) };
  } finally {
    await Promise.all([dispatcher.close(), auth.close()]);
  }
}

async function readBody(body: Dispatcher.ResponseData["body"]): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxAnswerBytes) {
      body.destroy();
      throw new DescribedError(`the answer is larger than ${maxAnswerBytes} bytes: not a Kubernetes object`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** A 200's object: its data, a Secret's decoded. */
function objectData(request: KubernetesObjectRequest, object: string, body: string): Record<string, string> {
  const invalid = (detail: string, cause?: unknown) => new KubernetesReadError(object, `${object}: ${detail}`, 200, { cause });
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (cause) {
    throw invalid("the Kubernetes API answered 200 with something that is not JSON", cause);
  }
  const expected = request.kind === "secret" ? "Secret" : "ConfigMap";
  if (!isRecord(parsed)) throw invalid(`the Kubernetes API answered 200 with JSON that is not a ${expected}`);
  if (parsed.kind !== undefined && parsed.kind !== expected) {
    throw invalid(`the Kubernetes API answered 200 with a ${typeof parsed.kind === "string" ? parsed.kind.slice(0, 64) : "JSON value"}, not a ${expected}`);
  }
  const data = parsed.data;
  if (data === undefined || data === null) return {};
  if (!isRecord(data)) throw invalid(`its data is not a JSON object`);
  // fromEntries makes own properties, even of a key such as `__proto__`.
  return Object.fromEntries(
    Object.entries(data).map(([key, value]) => {
      if (typeof value !== "string") throw invalid(`its data key ${JSON.stringify(key)} is not a string`);
      if (request.kind === "configmap") return [key, value];
      const decoded = decodeBase64(value);
      if (decoded === undefined) throw invalid(`its data key ${JSON.stringify(key)} is not valid base64`);
      return [key, decoded.toString("utf8")];
    }),
  );
}

/** What an answer other than 200 says, with the Kubernetes Status message it carries, if any. */
function refusal(request: KubernetesObjectRequest, object: string, answer: Answer): KubernetesReadError {
  const { status } = answer;
  const message = statusMessage(answer);
  const fail = (text: string) => new KubernetesReadError(object, text, status);
  const answered = `${object}: the Kubernetes API answered ${status} ${STATUS_CODES[status] ?? ""}`.trimEnd();
  const quoted = message === undefined ? "" : `: ${message}`;
  switch (status) {
    case 404:
      return fail(
        message === undefined ? `${object} not found (the answer is not a Kubernetes Status: is the server a Kubernetes API server?)` : `${object} not found`,
      );
    case 401:
      return fail(`${answered}${quoted}; it does not accept the credentials (token, client certificate or username and password)`);
    case 403: {
      const resource = request.kind === "secret" ? "secrets" : "configmaps";
      return fail(`${answered}${quoted}; the service account (or user) needs "get" on ${resource} in namespace ${request.namespace} (a Role and RoleBinding)`);
    }
    default:
      return fail(`${answered}${quoted}`);
  }
}

/**
 * The `message` of a Kubernetes Status body (it carries no secret of the request), cut short, and
 * blanked of the request's credentials all the same, should the server echo them.
 */
function statusMessage(answer: Answer): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.body);
  } catch {
    return undefined;
  }
  if (!isRecord(parsed) || parsed.kind !== "Status" || typeof parsed.message !== "string" || parsed.message === "") return undefined;
  const cut = parsed.message.length > maxQuotedChars;
  const text = answer.withoutCredentials(cut ? parsed.message.slice(0, maxQuotedChars) : parsed.message);
  return cut ? `${text}...` : text;
}

/** A transport error as its message says, with its code (`ECONNREFUSED`, `SELF_SIGNED_CERT_IN_CHAIN`). */
function transportDetail(error: unknown): string {
  let current = error;
  // Happy eyeballs: an AggregateError without a message of its own; its first error tells.
  while (current instanceof AggregateError && current.message === "" && current.errors[0] !== undefined) current = current.errors[0];
  if (!(current instanceof Error)) return String(current);
  const code = (current as { code?: unknown }).code;
  const message = current.message || current.name;
  return typeof code === "string" && !message.includes(code) ? `${message} (${code})` : message;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function errorCode(error: unknown): string {
  const { code, name } = error as { code?: unknown; name?: unknown };
  return typeof code === "string" ? code : typeof name === "string" ? name : String(error);
}
