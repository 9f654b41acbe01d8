import { once } from "node:events";
import { createServer, type Server } from "node:net";

/** Options of {@link freePort}. */
export interface FreePortOptions {
  /** Also check and hold port + offset: a Redis Cluster node puts its bus on its port + 10000. */
  companionOffset?: number;
}

/** No free port turned up: the loopback interface is crowded with listeners. */
export class NoFreePortError extends Error {
  override name = "NoFreePortError";
}

// ::1 too: a TLS test server binds it beside 127.0.0.1, as `localhost` may resolve to either.
const HOSTS = ["127.0.0.1", "::1"];
// Below Linux' ephemeral range (32768-60999 by default), which bind(0) and outgoing connections draw from: a port
// picked here cannot be taken, between the probe and the bind, by a server that listens on port 0.
const LOWEST = 10_000;
const HIGHEST = 32_767;
const ATTEMPTS = 200;

/**
 * The ports in that range that fetch refuses to connect to (the WHATWG fetch spec's "bad ports", which
 * Node's fetch applies): a relay listening on one could not be probed by a test's `fetch`.
 */
const fetchBlockedPorts = new Set([10_080]);

/** Whether a test could reach a server on `port` with `fetch`. */
export function fetchable(port: number): boolean {
  return !fetchBlockedPorts.has(port);
}

/** Ports this process has handed out, never twice: two servers a test starts cannot be given one port. */
const handedOut = new Set<number>();

/** A loopback port that is free now and that this process has not handed out before; the caller binds it right after. */
export async function freePort(options: FreePortOptions = {}): Promise<number> {
  const offset = options.companionOffset ?? 0;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (HIGHEST - offset - LOWEST + 1));
    const ports = offset === 0 ? [port] : [port, port + offset];
    if (ports.some((candidate) => handedOut.has(candidate) || !fetchable(candidate))) continue;
    // Held before the probe, which yields: a concurrent call cannot take the same port meanwhile.
    for (const candidate of ports) handedOut.add(candidate);
    if (await bindable(ports)) return port;
    for (const candidate of ports) handedOut.delete(candidate);
  }
  throw new NoFreePortError(`found no free loopback port in ${ATTEMPTS} attempts`);
}

/** Whether every one of `ports` can be listened on now, on each loopback address. */
export async function bindable(ports: number[]): Promise<boolean> {
  const probes: Server[] = [];
  try {
    for (const port of ports) {
      for (const host of HOSTS) {
        const probe = createServer();
        probes.push(probe);
        probe.listen(port, host);
        await once(probe, "listening").catch((error: NodeJS.ErrnoException) => {
          // A machine without IPv6 has no ::1 to take the port on.
          if (error.code !== "EADDRNOTAVAIL" || host === HOSTS[0]) throw error;
        });
      }
    }
    return true;
  } catch {
    return false;
  } finally {
    await Promise.all(probes.filter((probe) => probe.listening).map((probe) => new Promise((resolve) => probe.close(resolve))));
  }
}
