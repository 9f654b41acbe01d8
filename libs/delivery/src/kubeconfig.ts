import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parseDocument } from "yaml";
import type { KubernetesHttpClient, TargetAuth, TargetConfig, TargetTls } from "@pyroscope-relay/config";

/**
 * A kubeconfig file the relay cannot use: unreadable, not YAML, its current context incomplete, or
 * a user the relay cannot authenticate as. The message names the file and the entry at fault, never
 * a secret of it.
 */
export class KubeconfigError extends Error {
  override readonly name = "KubeconfigError";

  constructor(
    readonly path: string,
    detail: string,
    options: { cause?: unknown } = {},
  ) {
    super(`kubeconfig ${path}: ${detail}`, options.cause === undefined ? {} : { cause: options.cause });
  }
}

type Entry = Record<string, unknown>;

/**
 * The HTTP client settings of a kubeconfig file's current context, as client-go's
 * `clientcmd.BuildConfigFromFlags` builds them: its cluster's server, TLS and proxy, its user's
 * token, basic auth or client certificate. Read whole at every call, with the files it points to
 * (relative paths are relative to the kubeconfig's directory): kubeconfigs and certificates change.
 * The context's namespace is not used: the component names its own. Without `proxy-url` the
 * environment's proxy is used, as client-go does.
 */
export async function readKubeconfig(path: string, signal?: AbortSignal): Promise<KubernetesHttpClient> {
  const fail = (detail: string, cause?: unknown) => new KubeconfigError(path, detail, { cause });
  const text = await readFile(path, { encoding: "utf8", signal }).catch((cause: unknown) => {
    throw fail(`cannot be read: ${errorCode(cause)}`, cause);
  });
  const { cluster, user } = currentContext(text, fail);
  const fromDir = (file: string) => resolve(dirname(path), file);
  const readPart = async (file: string, what: string) => {
    try {
      return await readFile(fromDir(file), { encoding: "utf8", signal });
    } catch (cause) {
      throw fail(`cannot read ${what} ${JSON.stringify(fromDir(file))}: ${errorCode(cause)}`, cause);
    }
  };
  /** A PEM given inline (`<key>-data`, base64) or as a file (`<key>`): at most one of them, as client-go requires. */
  const pem = async (entry: Entry, key: string, where: string): Promise<string | undefined> => {
    const file = stringField(entry, key, where, fail);
    const data = stringField(entry, `${key}-data`, where, fail);
    if (file !== undefined && data !== undefined) throw fail(`${where} sets both ${key} and ${key}-data`);
    if (data !== undefined) {
      const decoded = decodeBase64(data);
      if (decoded === undefined) throw fail(`${where}: ${key}-data is not valid base64`);
      return decoded.toString("utf8");
    }
    return file === undefined ? undefined : readPart(file, `${key} of ${where}`);
  };

  const clusterWhere = `cluster ${JSON.stringify(cluster.name)}`;
  const userWhere = `user ${JSON.stringify(user.name)}`;
  for (const [key, what] of [
    ["exec", "an exec credential plugin"],
    ["auth-provider", "an auth-provider plugin"],
  ] as const) {
    if (user.entry[key] !== undefined && user.entry[key] !== null) {
      throw fail(
        `${userWhere} gets its credentials from ${what}, which the relay does not run: give the user a token, a tokenFile, or a client certificate (client-certificate and client-key)`,
      );
    }
  }
  for (const key of ["as", "as-uid", "as-groups", "as-user-extra"]) {
    if (user.entry[key] !== undefined && user.entry[key] !== null) throw fail(`${userWhere} impersonates (${key}), which the relay does not support`);
  }

  const ca = await pem(cluster.entry, "certificate-authority", clusterWhere);
  const insecure = booleanField(cluster.entry, "insecure-skip-tls-verify", clusterWhere, fail) ?? false;
  // As client-go's transport: skipping verification with a CA given is a mistake, not a choice.
  if (insecure && ca !== undefined) throw fail(`${clusterWhere} sets insecure-skip-tls-verify with a certificate authority`);
  const cert = await pem(user.entry, "client-certificate", userWhere);
  const key = await pem(user.entry, "client-key", userWhere);
  if ((cert === undefined) !== (key === undefined)) {
    throw fail(`${userWhere} sets ${cert === undefined ? "client-key without client-certificate" : "client-certificate without client-key"}`);
  }
  const serverName = stringField(cluster.entry, "tls-server-name", clusterWhere, fail);
  const tls: TargetTls = {
    insecureSkipVerify: insecure,
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined || key === undefined ? {} : { cert, key }),
    ...(serverName === undefined ? {} : { serverName }),
  };

  const auth = await userAuth(user.entry, userWhere, fail, (file) => readPart(file, `tokenFile of ${userWhere}`));
  const server = stringField(cluster.entry, "server", clusterWhere, fail);
  if (server === undefined || server === "") throw fail(`${clusterWhere} has no server`);
  const hasTls = ca !== undefined || cert !== undefined || insecure;
  return {
    url: serverUrl(server, hasTls, () => fail(`${clusterWhere}: server is not a URL`)),
    auth,
    tls,
    proxy: clusterProxy(cluster.entry, clusterWhere, fail),
    followRedirects: true,
    enableHttp2: true,
  };
}

/** The current context's cluster and user entries, checked to be there. */
function currentContext(text: string, fail: (detail: string, cause?: unknown) => KubeconfigError): Record<"cluster" | "user", { name: string; entry: Entry }> {
  // No pretty errors: they quote the lines around the error, which may hold a token.
  const document = parseDocument(text, { prettyErrors: false });
  const yamlError = document.errors[0];
  if (yamlError !== undefined) throw fail(`is not valid YAML at line ${lineOf(text, yamlError.pos[0])}: ${yamlError.message}`);
  let config: unknown;
  try {
    config = document.toJS();
  } catch (cause) {
    // An unresolved alias, or too many of them (a billion laughs).
    throw fail(`is not valid YAML: ${cause instanceof Error ? cause.message : String(cause)}`, cause);
  }
  if (!isEntry(config)) throw fail("is not a kubeconfig (a YAML mapping)");
  const contextName = stringField(config, "current-context", "the file", fail);
  if (contextName === undefined || contextName === "") throw fail("current-context is not set");
  const context = namedEntry(config, "contexts", "context", contextName, fail);
  if (context === undefined) throw fail(`current-context ${JSON.stringify(contextName)} names no entry of contexts`);
  const contextWhere = `context ${JSON.stringify(contextName)}`;
  const pick = (field: "cluster" | "user", list: "clusters" | "users") => {
    const name = stringField(context, field, contextWhere, fail);
    if (name === undefined || name === "") throw fail(`${contextWhere} names no ${field}`);
    const entry = namedEntry(config, list, field, name, fail);
    if (entry === undefined) throw fail(`${field} ${JSON.stringify(name)} of ${contextWhere} is not among ${list}`);
    return { name, entry };
  };
  return { cluster: pick("cluster", "clusters"), user: pick("user", "users") };
}

/** `{name, <field>: {...}}` of the list `list` named `name`; the last of that name, as client-go keeps it. */
function namedEntry(config: Entry, list: string, field: string, name: string, fail: (detail: string) => KubeconfigError): Entry | undefined {
  const items = config[list] ?? [];
  if (!Array.isArray(items)) throw fail(`${list} is not a list`);
  const item: unknown = items.findLast((candidate: unknown) => isEntry(candidate) && candidate.name === name);
  if (item === undefined) return undefined;
  const entry = (item as Entry)[field] ?? {};
  if (!isEntry(entry)) throw fail(`${field} ${JSON.stringify(name)}: ${field} is not a mapping`);
  return entry;
}

/**
 * The user's credentials: a token (tokenFile, read now, wins over token, as client-go reads the file
 * again and again), or username and password; not both kinds, as client-go refuses.
 */
async function userAuth(
  user: Entry,
  where: string,
  fail: (detail: string) => KubeconfigError,
  readTokenFile: (file: string) => Promise<string>,
): Promise<TargetAuth> {
  const token = stringField(user, "token", where, fail);
  const tokenFile = stringField(user, "tokenFile", where, fail);
  const username = stringField(user, "username", where, fail);
  const password = stringField(user, "password", where, fail);
  const hasToken = (token !== undefined && token !== "") || (tokenFile !== undefined && tokenFile !== "");
  const hasBasic = (username !== undefined && username !== "") || (password !== undefined && password !== "");
  if (hasToken && hasBasic) throw fail(`${where} sets both a token and username/password: only one is allowed`);
  if (tokenFile !== undefined && tokenFile !== "") {
    const fromFile = (await readTokenFile(tokenFile)).trim();
    return fromFile === "" ? { kind: "none" } : { kind: "bearer", token: fromFile };
  }
  if (token !== undefined && token !== "") return { kind: "bearer", token };
  if (username !== undefined && username !== "") return { kind: "basic", username, password: password ?? "" };
  return { kind: "none" };
}

/** `proxy-url` (http or https: the relay speaks no SOCKS), else the environment's proxy, as client-go. */
function clusterProxy(cluster: Entry, where: string, fail: (detail: string) => KubeconfigError): TargetConfig["proxy"] {
  const proxyUrl = stringField(cluster, "proxy-url", where, fail);
  if (proxyUrl === undefined || proxyUrl === "") return { kind: "environment" };
  // The URL may carry the proxy's credentials: it is not quoted.
  if (!URL.canParse(proxyUrl)) throw fail(`${where}: proxy-url is not a URL`);
  const { protocol } = new URL(proxyUrl);
  if (protocol !== "http:" && protocol !== "https:") throw fail(`${where}: proxy-url scheme ${protocol} is not supported (http and https are)`);
  return { kind: "url", url: proxyUrl };
}

/** The server as client-go takes it: without a scheme, https when TLS is configured, else http. */
function serverUrl(server: string, hasTls: boolean, invalid: () => KubeconfigError): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(server) ? server : `${hasTls ? "https" : "http"}://${server}`;
  if (!URL.canParse(withScheme)) throw invalid();
  const { protocol } = new URL(withScheme);
  if (protocol !== "http:" && protocol !== "https:") throw invalid();
  return withScheme;
}

/**
 * Standard base64 with padding, as Go's encoding/json decodes a `[]byte` (line breaks skipped);
 * undefined when it is not. Node's own decoder skips what is not base64, which hides a mistake.
 */
export function decodeBase64(text: string): Buffer | undefined {
  const compact = text.replace(/[\r\n]/g, "");
  return /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(compact) ? Buffer.from(compact, "base64") : undefined;
}

function stringField(entry: Entry, key: string, where: string, fail: (detail: string) => KubeconfigError): string | undefined {
  const value = entry[key];
  if (value === undefined || value === null) return undefined;
  // The value is not quoted: it may be a secret.
  if (typeof value !== "string") throw fail(`${where}: ${key} is not a string`);
  return value;
}

function booleanField(entry: Entry, key: string, where: string, fail: (detail: string) => KubeconfigError): boolean | undefined {
  const value = entry[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") throw fail(`${where}: ${key} is not true or false`);
  return value;
}

function isEntry(value: unknown): value is Entry {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function lineOf(text: string, offset: number): number {
  return text.slice(0, offset).split("\n").length;
}

/** A file error's code (`ENOENT`), which says what went wrong without the message's repetition of the path. */
function errorCode(error: unknown): string {
  const { code, name } = error as { code?: unknown; name?: unknown };
  return typeof code === "string" ? code : typeof name === "string" ? name : String(error);
}
