import { execFile } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import {
  logPath,
  persistenceArgs,
  redisCommand,
  redisProcess,
  RedisServerError,
  type PersistenceOptions,
  type RedisProcess,
} from "@pyroscope-relay/redis-server";
import { freePort } from "./free-port.js";
import { redisTlsArgs, type RedisTlsFiles } from "./redis-tls.js";
import { ownTempDir, removeDir } from "./temp-dir.js";

export interface RedisClusterOptions extends PersistenceOptions {
  /** At least 3, as Redis Cluster requires; default 3. */
  masters?: number;
  /** Default 1. */
  replicasPerMaster?: number;
  /** `cluster-node-timeout`; with the default 1000 ms a failover takes 2 to 3 s. */
  nodeTimeoutMs?: number;
  /**
   * Every node also listens with TLS (`tlsPort`), and the nodes talk to each other over TLS: their
   * certificate must serve as a client's too. TLS clients learn the nodes' TLS ports; plain ones, as
   * these helpers, the plain ports.
   */
  tls?: RedisTlsFiles;
  /** Nodes announce this host name to clients (`cluster-preferred-endpoint-type hostname`) instead of 127.0.0.1. */
  announceHostname?: string;
}

export interface RedisClusterNode {
  port: number;
  /** With `tls`. */
  tlsPort?: number;
  /** `127.0.0.1:<port>`. */
  address: string;
  /** SIGKILL, as in a crash: the node's directory (nodes.conf, any AOF) stays for `restart()`. */
  kill(): Promise<void>;
  /**
   * Stop the node if it runs (SIGTERM) and start it again on the same port and directory; it rejoins the
   * cluster, as a replica if it lost its master role meanwhile.
   */
  restart(): Promise<void>;
  /** SIGTERM and wait for exit; the directory stays for `restart()`. */
  stop(): Promise<void>;
  /** How many keys the node holds (`DBSIZE`). */
  keyCount(): Promise<number>;
}

export interface RedisClusterHandle {
  nodes: RedisClusterNode[];
  /** Comma-separated addresses of all nodes, e.g. for --redis.cluster-nodes. */
  seeds: string;
  /** Current masters, read from CLUSTER NODES of a live node (excluding those flagged fail or fail?). */
  masters(): Promise<RedisClusterNode[]>;
  /**
   * Resolves when every live node reports cluster_state:ok and all 16384 slots are served by live masters,
   * all live nodes agree on each other's role and slots, and every live replica has synced with its master;
   * rejects after `timeoutMs` (default 20 s).
   */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /**
   * Starts one more node and adds it to the running cluster as a master without slots (`redis-cli
   * --cluster add-node`), as an operator scaling out does, with `replicas` more nodes as its replicas
   * (none by default); resolves once every node knows them and the replicas have synced.
   */
  addMaster(replicas?: number): Promise<RedisClusterNode>;
  /**
   * Moves `slots` slots (`all` of `from`'s) from `from` (every master when absent) to `to` with
   * `redis-cli --cluster reshard`, keys and all, while clients keep using them; resolves once the
   * move is done.
   */
  reshard(to: RedisClusterNode, slots: number | "all", from?: RedisClusterNode): Promise<void>;
  /** Stops all nodes and removes their directories. */
  stop(): Promise<void>;
}

const HOST = "127.0.0.1";
const SLOTS = 16_384;
/** Redis puts a node's cluster bus on its port + 10000. */
const BUS_PORT_OFFSET = 10_000;
const HEALTHY_TIMEOUT_MS = 20_000;
const POLL_MS = 50;
const START_ATTEMPTS = 5;

interface Member {
  node: RedisClusterNode;
  server: RedisProcess;
}

/** Spawns 127.0.0.1-only redis-server nodes in a temp dir, joins them into a cluster and waits until it is healthy. */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const masterCount = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 1;
  if (!Number.isInteger(masterCount) || masterCount < 3) {
    throw new RangeError(`masters must be an integer >= 3, got ${masterCount}`);
  }
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new RangeError(`replicasPerMaster must be an integer >= 0, got ${replicas}`);
  }
  const root = ownTempDir("relay-redis-cluster-");
  const started = await Promise.allSettled(
    Array.from({ length: masterCount * (replicas + 1) }, (_, index) => startMember(join(root, `node-${index}`), options)),
  );
  const members = started.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  const stop = async (): Promise<void> => {
    await Promise.all(members.map((member) => member.server.terminate("SIGTERM")));
    removeDir(root);
  };
  const waitHealthy = (timeoutMs = HEALTHY_TIMEOUT_MS) => waitUntilHealthy(members, timeoutMs);
  try {
    const failed = started.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
    await createCluster(members, replicas);
    await waitHealthy();
  } catch (error) {
    await stop();
    throw error;
  }
  const nodes = members.map((member) => member.node);
  return {
    nodes,
    seeds: nodes.map((node) => node.address).join(","),
    masters: () => liveMasters(members),
    waitHealthy,
    addMaster: async (replicas = 0) => {
      const added = async () => {
        const member = await startMember(join(root, `node-${members.length}`), options);
        members.push(member);
        nodes.push(member.node);
        return member.node;
      };
      const master = await added();
      await redisCli(["--cluster", "add-node", master.address, nodes[0]!.address], "add-node");
      await waitHealthy();
      const masterId = await command(master, "CLUSTER", "MYID");
      for (let i = 0; i < replicas; i++) {
        const replica = await added();
        await redisCli(["--cluster", "add-node", replica.address, nodes[0]!.address, "--cluster-slave", "--cluster-master-id", masterId], "add-node");
        await waitHealthy();
      }
      return master;
    },
    reshard: async (to, slots, from) => {
      const source = from === undefined ? "all" : await command(from, "CLUSTER", "MYID");
      const target = await command(to, "CLUSTER", "MYID");
      if (slots === "all") {
        if (from === undefined) throw new RangeError("reshard: all of which master? give `from`");
        const own = parseClusterNodes(await command(from, "CLUSTER", "NODES")).find((entry) => entry.flags.includes("myself"));
        slots = slotCount(ownedSlots(own!));
      }
      await redisCli(
        ["--cluster", "reshard", to.address, "--cluster-from", source, "--cluster-to", target, "--cluster-slots", String(slots), "--cluster-yes"],
        "reshard",
        RESHARD_TIMEOUT_MS,
      );
      await waitHealthy();
    },
    stop,
  };
}

/** Moving thousands of slots one by one, keys and all, takes a while on a busy machine. */
const RESHARD_TIMEOUT_MS = 120_000;

async function startMember(dir: string, options: RedisClusterOptions): Promise<Member> {
  for (let attempt = 1; ; attempt++) {
    mkdirSync(dir);
    // Held by this process for good, so that a node that is down keeps its ports for its restart.
    const port = await freePort({ companionOffset: BUS_PORT_OFFSET });
    const tlsPort = options.tls === undefined ? undefined : await freePort();
    const server = redisProcess(nodeArgs(dir, port, tlsPort, options), { host: HOST, port }, logPath(dir));
    try {
      await server.start();
      return { node: clusterNode(port, tlsPort, server), server };
    } catch (error) {
      // Another process may bind a probed port before redis-server does.
      const portTaken = error instanceof RedisServerError && error.message.includes("Address already in use");
      if (!portTaken || attempt === START_ATTEMPTS) throw error;
      // Fresh, so that the next attempt reads neither this one's log nor its nodes.conf.
      rmSync(dir, { recursive: true });
    }
  }
}

function nodeArgs(dir: string, port: number, tlsPort: number | undefined, options: RedisClusterOptions): string[] {
  const tls =
    options.tls === undefined || tlsPort === undefined
      ? []
      : // The bus port stays the plain port's companion, which freePort held.
        [...redisTlsArgs(options.tls, tlsPort), "--tls-cluster", "yes", "--tls-replication", "yes", "--cluster-port", String(port + BUS_PORT_OFFSET)];
  const hostname =
    options.announceHostname === undefined ? [] : ["--cluster-announce-hostname", options.announceHostname, "--cluster-preferred-endpoint-type", "hostname"];
  return [
    "--port",
    String(port),
    "--bind",
    HOST,
    "--cluster-enabled",
    "yes",
    "--cluster-config-file",
    join(dir, "nodes.conf"),
    "--cluster-node-timeout",
    String(options.nodeTimeoutMs ?? 1_000),
    "--cluster-announce-ip",
    HOST,
    // Replicas stay with the master they were given, so that tests see only the changes they cause.
    "--cluster-allow-replica-migration",
    "no",
    // A full sync through a (tiny) RDB file: the replica follows the stream as soon as it has loaded
    // it. A diskless sync waits up to a second more for the replica's first ACK, and a WAIT in
    // between times out.
    "--repl-diskless-sync",
    "no",
    ...persistenceArgs(dir, options),
    // After --bind: TLS binds ::1 as well.
    ...tls,
    ...hostname,
  ];
}

function clusterNode(port: number, tlsPort: number | undefined, server: RedisProcess): RedisClusterNode {
  return {
    port,
    ...(tlsPort === undefined ? {} : { tlsPort }),
    address: `${HOST}:${port}`,
    kill: () => server.terminate("SIGKILL"),
    async restart() {
      await server.terminate("SIGTERM");
      await server.start();
    },
    stop: () => server.terminate("SIGTERM"),
    keyCount: async () => Number(await redisCommand({ host: HOST, port }, ["DBSIZE"])),
  };
}

const run = promisify(execFile);

async function createCluster(members: Member[], replicas: number): Promise<void> {
  const addresses = members.map((member) => member.node.address);
  await redisCli(["--cluster", "create", ...addresses, "--cluster-replicas", String(replicas), "--cluster-yes"], "create");
}

/** Runs `redis-cli` with `args`; its output's end is in the error when it fails. */
async function redisCli(args: string[], what: string, timeoutMs = HEALTHY_TIMEOUT_MS): Promise<void> {
  try {
    await run("redis-cli", args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const stdout = (error as { stdout?: string }).stdout ?? "";
    throw new RedisServerError(`redis-cli --cluster ${what} failed: ${(error as Error).message}${stdout.slice(-2_000)}`, {
      cause: error,
    });
  }
}

async function waitUntilHealthy(members: Member[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const problem = await healthProblem(members).catch((error: Error) => error.message);
    if (problem === undefined) return;
    if (Date.now() >= deadline) throw new RedisServerError(`cluster not healthy within ${timeoutMs} ms: ${problem}`);
    await sleep(POLL_MS);
  }
}

/** Why the cluster is not healthy yet, or `undefined` once it is. */
async function healthProblem(members: Member[]): Promise<string | undefined> {
  const live = members.filter((member) => member.server.running).map((member) => member.node);
  if (live.length === 0) return "no node runs";
  const liveAddresses = new Set(live.map((node) => node.address));
  const views = await Promise.all(
    live.map(async (node) => ({
      address: node.address,
      info: await command(node, "CLUSTER", "INFO"),
      replication: await command(node, "INFO", "replication"),
      entries: parseClusterNodes(await command(node, "CLUSTER", "NODES")),
    })),
  );
  let agreedLayout: string | undefined;
  for (const { address, info, replication, entries } of views) {
    const state = infoField(info, "cluster_state");
    const slotsOk = infoField(info, "cluster_slots_ok");
    if (state !== "ok" || slotsOk !== String(SLOTS)) {
      return `${address} reports cluster_state:${state} cluster_slots_ok:${slotsOk}`;
    }
    // A replica that has not synced yet could neither take over its master's data nor acknowledge WAIT.
    if (infoField(replication, "role") === "slave" && infoField(replication, "master_link_status") !== "up") {
      return `${address} has not synced with its master yet`;
    }
    // A killed node's entry stays (flagged fail) and may still hold slots until its replica takes over.
    const liveEntries = entries.filter((entry) => liveAddresses.has(entry.address));
    if (liveEntries.length < liveAddresses.size) return `${address} does not know every live node yet`;
    const unreachable = liveEntries.find((entry) => entry.linkState !== "connected" || entry.flags.some((flag) => UNREACHABLE_FLAGS.has(flag)));
    if (unreachable) {
      return `${address} sees ${unreachable.address} as ${unreachable.flags.join(",")} ${unreachable.linkState}`;
    }
    const served = liveEntries.filter((entry) => entry.flags.includes("master")).reduce((sum, entry) => sum + slotCount(ownedSlots(entry)), 0);
    if (served !== SLOTS) return `${address} sees ${served} of ${SLOTS} slots served by live masters`;
    // A restarted ex-master believes in its old slots until the others tell it otherwise.
    const layout = describeLayout(liveEntries, entries);
    agreedLayout ??= layout;
    if (layout !== agreedLayout) return `nodes disagree on roles or slots: ${agreedLayout} versus ${address}'s ${layout}`;
  }
  return undefined;
}

async function liveMasters(members: Member[]): Promise<RedisClusterNode[]> {
  const source = members.find((member) => member.server.running);
  if (!source) throw new RedisServerError("no node of the cluster runs");
  const masters = new Set(
    parseClusterNodes(await command(source.node, "CLUSTER", "NODES"))
      .filter((entry) => entry.flags.includes("master") && !entry.flags.some((flag) => FAILED_FLAGS.has(flag)))
      .map((entry) => entry.address),
  );
  return members.map((member) => member.node).filter((node) => masters.has(node.address));
}

async function command(node: RedisClusterNode, ...args: string[]): Promise<string> {
  const reply = await redisCommand({ host: HOST, port: node.port }, args);
  if (reply === null) throw new Error(`${args.join(" ")} on ${node.address} replied null`);
  return reply;
}

function infoField(info: string, name: string): string | undefined {
  return info
    .split("\r\n")
    .find((line) => line.startsWith(`${name}:`))
    ?.slice(name.length + 1);
}

const FAILED_FLAGS = new Set(["fail", "fail?"]);
const UNREACHABLE_FLAGS = new Set([...FAILED_FLAGS, "handshake", "noaddr"]);

interface NodeEntry {
  id: string;
  /** `ip:port`, without the bus port. */
  address: string;
  flags: string[];
  /** `-` for a master. */
  masterId: string;
  linkState: string;
  slots: string[];
}

/** CLUSTER NODES lines: `<id> <ip:port@cport[,hostname]> <flags> <master> <ping> <pong> <epoch> <link> <slot>...`. */
function parseClusterNodes(text: string): NodeEntry[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [id = "", address = "", flags = "", masterId = "", , , , linkState = "", ...slots] = line.trim().split(" ");
      return { id, address: address.split("@")[0] ?? "", flags: flags.split(","), masterId, linkState, slots };
    });
}

/** Ranges like `0-5460` and single slots; `[slot->-id]` marks a migration, not ownership. */
function ownedSlots(entry: NodeEntry): string[] {
  return entry.slots.filter((slot) => !slot.startsWith("["));
}

function slotCount(slots: string[]): number {
  return slots.reduce((sum, slot) => {
    const [first = 0, last = first] = slot.split("-").map(Number);
    return sum + last - first + 1;
  }, 0);
}

/** One node's view of the live nodes' roles and slots, in a form to compare with the other nodes' views. */
function describeLayout(liveEntries: NodeEntry[], entries: NodeEntry[]): string {
  const addressOf = new Map(entries.map((entry) => [entry.id, entry.address]));
  return liveEntries
    .map((entry) =>
      entry.flags.includes("master")
        ? `${entry.address} master ${ownedSlots(entry).join(" ")}`
        : `${entry.address} replica of ${addressOf.get(entry.masterId) ?? entry.masterId}`,
    )
    .sort()
    .join("; ");
}
