import type { FailedList, PurgeRequest, PurgeResult, RelayStatus, ReplayRequest, ReplayResult } from "./admin-types.js";

/** Session storage: the token lives as long as the tab, never on disk beyond it. */
const tokenKey = "pyroscope-relay.admin-token";

/** The admin API answered 401: it wants a (different) token. */
export class TokenRequiredError extends Error {
  override readonly name = "TokenRequiredError";

  constructor(
    /** Whether a token was sent, i.e. it was refused rather than missing. */
    readonly refused: boolean,
  ) {
    super(refused ? "the admin token was refused" : "the admin API needs a token");
  }
}

/**
 * How long a reading (GET) may take: the page refreshes only once the last one is answered, so one
 * that never is (a Redis that stopped answering, a proxy holding it) would freeze the page on old
 * figures with no sign of trouble. A replay or purge is not cut short: it may be under way.
 */
export const readTimeoutMs = 30_000;

/** The admin API under `base` (the page's own `api/v1/`), with the tab's bearer token when it has one. */
export class AdminClient {
  constructor(
    private readonly base: URL,
    private readonly storage: Pick<Storage, "getItem" | "setItem" | "removeItem">,
    private readonly timeoutMs = readTimeoutMs,
  ) {}

  setToken(token: string): void {
    this.storage.setItem(tokenKey, token);
  }

  status(): Promise<RelayStatus> {
    return this.call("GET", "status");
  }

  failed(): Promise<FailedList> {
    return this.call("GET", "failed");
  }

  replay(request: ReplayRequest): Promise<ReplayResult> {
    return this.call("POST", "replay", request);
  }

  purge(request: PurgeRequest): Promise<PurgeResult> {
    return this.call("POST", "purge", request);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const token = this.storage.getItem(tokenKey);
    const headers: Record<string, string> = {};
    if (token !== null) headers["authorization"] = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const signal = method === "GET" ? AbortSignal.timeout(this.timeoutMs) : null;
    const res = await fetch(new URL(path, this.base), {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      cache: "no-store",
      signal,
    }).catch((error: unknown) => {
      if (signal?.aborted) throw new Error(`the admin API did not answer ${method} ${path} within ${this.timeoutMs / 1000} s`, { cause: error });
      throw error;
    });
    if (res.status === 401) {
      // A refused token is dropped, unless a newer one took its place while this request was out.
      if (token !== null && this.storage.getItem(tokenKey) === token) this.storage.removeItem(tokenKey);
      throw new TokenRequiredError(token !== null);
    }
    const json = (await res.json().catch(() => undefined)) as unknown;
    if (!res.ok) {
      const message = (json as { error?: unknown } | undefined)?.error;
      // The API's own message (a 400 names the field at fault), shown as it is.
      throw new Error(typeof message === "string" ? message : `admin API answered ${res.status} ${res.statusText}`);
    }
    return json as T;
  }
}
