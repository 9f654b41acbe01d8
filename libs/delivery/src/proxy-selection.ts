import { BlockList, isIP } from "node:net";
import { domainToASCII } from "node:url";
import type { Environment, TargetConfig } from "@pyroscope-relay/config";

/** Which proxy a request to `url` goes through; undefined: straight to the target. */
export type ProxySelection = (url: URL) => URL | undefined;

type TargetProxy = NonNullable<TargetConfig["proxy"]>;

const defaultPorts: Record<string, string> = { "http:": "80", "https:": "443" };

/**
 * Go's proxy rules, which Alloy users configure against:
 * - `proxy_url` alone: every request goes through it.
 * - `proxy_url` with `no_proxy`, or `proxy_from_environment` (HTTP_PROXY for http targets,
 *   HTTPS_PROXY for https ones, NO_PROXY; upper case first): requests to the hosts the list names,
 *   to localhost and to loopback addresses go straight to the target.
 * The environment is read once, here, as Go reads it once per client.
 */
export function proxySelection(proxy: TargetProxy | undefined, env: Environment): ProxySelection {
  if (proxy === undefined) return () => undefined;
  if (proxy.kind === "url") {
    const url = new URL(proxy.url);
    if (proxy.noProxy === undefined) return () => url;
    return byNoProxy({ "http:": url, "https:": url }, proxy.noProxy);
  }
  return byNoProxy(
    { "http:": httpProxy(proxy, env), "https:": parseProxy(fromEnv(env, "HTTPS_PROXY", "https_proxy")) },
    fromEnv(env, "NO_PROXY", "no_proxy") ?? "",
  );
}

/**
 * The proxy requests to http:// URLs go through, NO_PROXY aside: `proxy_url`, or HTTP_PROXY. They
 * go to it in absolute form, its credentials with them (see ProxyRouter), and its answer is theirs.
 */
export function httpProxy(proxy: TargetProxy | undefined, env: Environment): URL | undefined {
  if (proxy === undefined) return undefined;
  return proxy.kind === "url" ? new URL(proxy.url) : parseProxy(fromEnv(env, "HTTP_PROXY", "http_proxy"));
}

/** The first of `names` set in the environment, upper case first, as Go reads them. */
function fromEnv(env: Environment, ...names: string[]): string | undefined {
  return names.map((name) => env[name]).find((value) => value !== undefined && value !== "");
}

/**
 * An environment proxy may be a bare `host:port`: http is assumed, as in Go. One that cannot be
 * parsed, or a SOCKS proxy (which the relay does not speak), is ignored.
 */
function parseProxy(value: string | undefined): URL | undefined {
  if (value === undefined) return undefined;
  const text = value.includes("://") ? value : `http://${value}`;
  if (!URL.canParse(text)) return undefined;
  const url = new URL(text);
  return ["http:", "https:"].includes(url.protocol) ? url : undefined;
}

function byNoProxy(proxies: Record<string, URL | undefined>, noProxy: string): ProxySelection {
  const bypass = noProxyMatcher(noProxy);
  return (url) => {
    const proxy = proxies[url.protocol];
    if (proxy === undefined) return undefined;
    const host = hostOf(url);
    return bypass(host, url.port || (defaultPorts[url.protocol] ?? "")) ? undefined : proxy;
  };
}

/** The host without IPv6 brackets, lower case, as Go compares it. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1").toLowerCase();
}

const loopback = new BlockList();
loopback.addSubnet("127.0.0.0", 8, "ipv4");
loopback.addAddress("::1", "ipv6");

type Matcher = (host: string, port: string) => boolean;

/**
 * Whether a host bypasses the proxy under Go's NO_PROXY grammar: comma-separated entries, each `*`
 * (everything), an IP or CIDR, or a domain (`example.com` matches it and its subdomains,
 * `.example.com` and `*.example.com` only subdomains), IPs and domains optionally with `:port`.
 * Malformed entries are ignored. Localhost and loopback addresses always bypass it.
 */
export function noProxyMatcher(noProxy: string): (host: string, port: string) => boolean {
  const matchers: Matcher[] = [];
  for (const raw of noProxy.split(",")) {
    const entry = raw.trim().toLowerCase();
    if (entry === "") continue;
    if (entry === "*") return () => true;
    const cidr = /^(.+)\/(\d{1,3})$/.exec(entry);
    if (cidr && isIP(cidr[1]!) !== 0) {
      const family = isIP(cidr[1]!) === 4 ? "ipv4" : "ipv6";
      const subnet = new BlockList();
      try {
        subnet.addSubnet(cidr[1]!, Number(cidr[2]), family);
      } catch {
        continue;
      }
      matchers.push((host) => isIP(host) !== 0 && subnet.check(host, isIP(host) === 4 ? "ipv4" : "ipv6"));
      continue;
    }
    const [entryHost, entryPort] = splitHostPort(entry);
    if (entryHost === "") continue;
    const portMatches = (port: string) => entryPort === "" || entryPort === port;
    if (isIP(entryHost) !== 0) {
      const address = new BlockList();
      address.addAddress(entryHost, isIP(entryHost) === 4 ? "ipv4" : "ipv6");
      matchers.push((host, port) => isIP(host) !== 0 && address.check(host, isIP(host) === 4 ? "ipv4" : "ipv6") && portMatches(port));
      continue;
    }
    const domain = domainToASCII(entryHost.replace(/^\*\./, ".")) || entryHost;
    const suffix = domain.startsWith(".") ? domain : `.${domain}`;
    const exact = domain.startsWith(".") ? undefined : domain;
    matchers.push((host, port) => (host.endsWith(suffix) || host === exact) && portMatches(port));
  }
  return (host, port) => {
    if (host === "localhost" || (isIP(host) !== 0 && loopback.check(host, isIP(host) === 4 ? "ipv4" : "ipv6"))) return true;
    return matchers.some((matches) => matches(host, port));
  };
}

/** `host:port`, `[v6]:port`, or a bare host (an IPv6 address without brackets has no port). */
function splitHostPort(entry: string): [string, string] {
  const bracketed = /^\[(.*)\](?::(\d*))?$/.exec(entry);
  if (bracketed) return [bracketed[1]!, bracketed[2] ?? ""];
  const colon = entry.lastIndexOf(":");
  if (colon === -1 || entry.indexOf(":") !== colon) return [entry, ""];
  return [entry.slice(0, colon), entry.slice(colon + 1)];
}
