#!/usr/bin/env node
// Static check of the container files, for machines without a Docker engine:
//   node deploy/check-compose.mjs [repository root]
// Prints every problem found and exits 1 if there is any.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), ".."));
const problems = [];
const expect = (ok, problem) => {
  if (!ok) problems.push(problem);
};

/** The value following a flag in an exec-form command, or undefined. */
const flag = (command, name) => {
  const at = command.indexOf(name);
  return at < 0 ? undefined : command[at + 1];
};

const compose = parse(readFileSync(join(root, "docker-compose.yml"), "utf8"), { merge: true });
const services = compose?.services ?? {};
for (const name of ["redis", "ingest", "writer", "pyroscope-a", "pyroscope-b"]) {
  expect(services[name] !== undefined, `service ${name} is missing`);
}

const redis = services.redis ?? {};
expect(/^redis:7\.4(\.|$)/.test(redis.image ?? ""), `redis image is ${redis.image}, expected redis:7.4`);
const redisCommand = Array.isArray(redis.command) ? redis.command : [];
for (const [name, value] of [["--appendonly", "yes"], ["--appendfsync", "everysec"], ["--maxmemory-policy", "noeviction"]]) {
  expect(flag(redisCommand, name) === value, `redis command lacks ${name} ${value}`);
}
expect((redis.volumes ?? []).some((v) => /^[\w-]+:\/data$/.test(v) && compose.volumes && v.split(":")[0] in compose.volumes), "redis /data is not on a named volume");
expect(JSON.stringify(redis.healthcheck?.test ?? []).includes('"redis-cli","ping"'), "redis healthcheck is not redis-cli ping");

const configPath = "/etc/pyroscope-relay/relay.alloy";
for (const name of ["ingest", "writer"]) {
  const service = services[name] ?? {};
  const command = Array.isArray(service.command) ? service.command : [];
  expect(command[0] === name && command[1] === configPath, `${name} command should start with ${name} ${configPath}`);
  const redisUrl = flag(command, "--redis.url") ?? "";
  expect(/^redis:\/\/redis:6379\/?$/.test(redisUrl), `${name} --redis.url is ${redisUrl}, expected redis://redis:6379`);
  expect(flag(command, "--server.http.listen-addr") === "0.0.0.0:12345", `${name} ops server must listen on 0.0.0.0:12345`);
  expect(service.depends_on?.redis?.condition === "service_healthy", `${name} must wait for a healthy redis`);
  expect((service.volumes ?? []).includes(`./deploy/relay.alloy:${configPath}:ro`), `${name} does not mount deploy/relay.alloy read-only at ${configPath}`);
  const context = typeof service.build === "string" ? service.build : service.build?.context;
  expect(context === "." && existsSync(join(root, "Dockerfile")), `${name} must build the repository's Dockerfile`);
}
expect(services.ingest?.image !== undefined && services.ingest?.image === services.writer?.image, "ingest and writer must share one image");
const writer = services.writer ?? {};
expect(writer.ports === undefined && writer.container_name === undefined, "writer publishes ports or names its container: --scale writer=N would fail");

for (const [name, hostPort] of [["pyroscope-a", "4040"], ["pyroscope-b", "4041"]]) {
  const service = services[name] ?? {};
  expect(/^grafana\/pyroscope(:|$)/.test(service.image ?? ""), `${name} image is ${service.image}, expected grafana/pyroscope`);
  expect((service.ports ?? []).includes(`${hostPort}:4040`), `${name} must publish ${hostPort}:4040`);
}

// Profile cluster: six Redis Cluster nodes (three masters with a replica each), the one-shot service
// that creates the cluster, and ingest and writer on it.
const commandOf = (service) => (Array.isArray(service?.command) ? service.command : []);
const inCluster = (name) => (services[name]?.profiles ?? []).includes("cluster");
const sameSet = (a, b) => a.length === b.length && [...a].sort().join() === [...b].sort().join();
const networksOf = (service) => (Array.isArray(service.networks) ? service.networks : Object.keys(service.networks ?? { default: null }));
/** An exact version, for the redis-cli of the init service to match the nodes; hostnames need 7+. */
const pinnedRedis = (image) => Number(/^(?:redis|valkey\/valkey):(\d+)\.\d+\.\d+(-[\w.]+)?$/.exec(image ?? "")?.[1]) >= 7;
const ipv4 = (text) => /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text ?? "")?.slice(1).reduce((n, part) => n * 256 + Number(part), 0);
const inSubnet = (address, cidr) => {
  const [base, bits] = (cidr ?? "").split("/");
  const size = 2 ** (32 - Number(bits));
  return ipv4(address) !== undefined && ipv4(base) !== undefined && Math.floor(ipv4(address) / size) === Math.floor(ipv4(base) / size);
};

const nodes = Object.keys(services).filter((name) => inCluster(name) && flag(commandOf(services[name]), "--cluster-enabled") !== undefined);
expect(nodes.length === 6, `the cluster profile has ${nodes.length} nodes with --cluster-enabled, expected 6 (3 masters, 3 replicas)`);
const endpoints = [];
const nodeVolumes = [];
const nodeAddresses = [];
const nodeNetworks = new Set();
for (const name of nodes) {
  const node = services[name];
  const command = commandOf(node);
  expect(pinnedRedis(node.image), `${name} image is ${node.image}, expected an exact redis (or valkey/valkey) version of 7 or later`);
  expect(/^(redis|valkey)-server$/.test(command[0] ?? ""), `${name} command should start with redis-server`);
  const nodeFlags = [["--cluster-enabled", "yes"], ["--appendonly", "yes"], ["--maxmemory-policy", "noeviction"],
    ["--cluster-announce-hostname", name], ["--cluster-preferred-endpoint-type", "hostname"]];
  for (const [flagName, value] of nodeFlags) {
    expect(flag(command, flagName) === value, `${name} command lacks ${flagName} ${value}`);
  }
  expect(/^[1-9]\d*([kmg]b?)?$/i.test(flag(command, "--maxmemory") ?? ""), `${name} command lacks a --maxmemory`);
  endpoints.push(`${name}:${flag(command, "--port") ?? "6379"}`);
  const volume = (node.volumes ?? []).find((v) => /^[\w-]+:\/data$/.test(v))?.split(":")[0];
  expect(volume !== undefined && compose.volumes && volume in compose.volumes, `${name} /data is not on a named volume`);
  nodeVolumes.push(volume);
  expect(JSON.stringify(node.healthcheck?.test ?? []).includes('"redis-cli","ping"'), `${name} healthcheck is not redis-cli ping`);
  // nodes.conf records the other nodes by IP: a node must keep its address across `down` and `up`.
  const attached = node.networks && !Array.isArray(node.networks) ? Object.entries(node.networks) : [];
  const [network, settings] = attached[0] ?? [];
  const address = settings?.ipv4_address;
  const ipam = compose.networks?.[network]?.ipam?.config ?? [];
  expect(attached.length === 1 && ipam.some((c) => inSubnet(address, c.subnet) && !(c.ip_range && inSubnet(address, c.ip_range))),
    `${name} must be on one network with a fixed ipv4_address in its ipam subnet, outside its ip_range`);
  nodeNetworks.add(network);
  nodeAddresses.push(address);
}
expect(new Set(nodeVolumes).size === nodeVolumes.length, "cluster nodes share a /data volume");
expect(new Set(nodeAddresses).size === nodeAddresses.length, "cluster nodes share an ipv4_address");
expect(nodeNetworks.size === 1, "the cluster nodes must share one network");
const [clusterNetwork] = nodeNetworks;

const init = services["redis-cluster-init"] ?? {};
expect(inCluster("redis-cluster-init"), "service redis-cluster-init (profile cluster) is missing");
expect(pinnedRedis(init.image) && nodes.every((name) => services[name].image === init.image), `redis-cluster-init image is ${init.image}, expected the nodes' image`);
expect(init.restart === undefined || init.restart === "no", "redis-cluster-init restarts, so it never completes");
for (const name of nodes) {
  expect(init.depends_on?.[name]?.condition === "service_healthy", `redis-cluster-init must wait for a healthy ${name}`);
}
expect(networksOf(init).includes(clusterNetwork), `redis-cluster-init is not on the nodes' network ${clusterNetwork}`);
const initCommand = commandOf(init);
const scriptPath = (init.volumes ?? []).find((v) => v.startsWith("./deploy/redis-cluster-init.sh:"))?.split(":")[1];
expect(scriptPath !== undefined && initCommand[0] === "sh" && initCommand[1] === scriptPath, "redis-cluster-init must run deploy/redis-cluster-init.sh, mounted");
expect(sameSet(initCommand.slice(2), endpoints), `redis-cluster-init is given ${initCommand.slice(2).join(" ")}, expected every node: ${endpoints.join(" ")}`);
const initScript = join(root, "deploy", "redis-cluster-init.sh");
const create = (existsSync(initScript) ? readFileSync(initScript, "utf8") : "").split("\n").find((line) => /^\s*redis-cli --cluster create /.test(line)) ?? "";
expect(/ --cluster-replicas 1( |$)/.test(create) && / --cluster-yes( |$)/.test(create), "deploy/redis-cluster-init.sh does not run redis-cli --cluster create ... --cluster-replicas 1 --cluster-yes");

const shards = [];
for (const [name, role] of [["ingest-cluster", "ingest"], ["writer-cluster", "writer"]]) {
  const service = services[name] ?? {};
  expect(inCluster(name), `service ${name} (profile cluster) is missing`);
  const command = commandOf(service);
  expect(command[0] === role && command[1] === configPath, `${name} command should start with ${role} ${configPath}`);
  expect(flag(command, "--redis.url") === undefined, `${name} has a --redis.url: it must use --redis.cluster-nodes only`);
  const seeds = (flag(command, "--redis.cluster-nodes") ?? "").split(",").filter((seed) => seed !== "");
  expect(sameSet(seeds, endpoints), `${name} --redis.cluster-nodes is ${seeds.join(",")}, expected every node: ${endpoints.join(",")}`);
  shards.push(flag(command, "--target.queue-shards"));
  expect(flag(command, "--server.http.listen-addr") === "0.0.0.0:12345", `${name} ops server must listen on 0.0.0.0:12345`);
  expect(service.depends_on?.["redis-cluster-init"]?.condition === "service_completed_successfully", `${name} must wait for redis-cluster-init to complete`);
  expect(service.depends_on?.redis === undefined, `${name} depends on the single redis`);
  expect(networksOf(service).includes(clusterNetwork) && networksOf(service).includes("default"), `${name} must be on the networks default and ${clusterNetwork}`);
  expect((service.volumes ?? []).includes(`./deploy/relay.alloy:${configPath}:ro`), `${name} does not mount deploy/relay.alloy read-only at ${configPath}`);
  expect(service.image !== undefined && service.image === services.ingest?.image, `${name} must use ingest's image`);
}
expect(/^[1-9]\d*$/.test(shards[0] ?? "") && shards[0] !== "1" && shards[1] === shards[0], `ingest-cluster and writer-cluster need one --target.queue-shards above 1, have ${shards.join(" and ")}`);
const ingestCluster = commandOf(services["ingest-cluster"]);
expect(flag(ingestCluster, "--redis.min-replicas") === "1", "ingest-cluster must wait for 1 replica: --redis.min-replicas 1");
expect(/^\d+(ms|s)$/.test(flag(ingestCluster, "--redis.replica-timeout") ?? ""), "ingest-cluster lacks a --redis.replica-timeout such as 500ms");
const writerCluster = services["writer-cluster"] ?? {};
expect(writerCluster.ports === undefined && writerCluster.container_name === undefined, "writer-cluster publishes ports or names its container: --scale would fail");

// `--profile cluster` starts the services without a profile too: no host port may be published twice.
const published = new Map();
for (const [name, service] of Object.entries(services)) {
  for (const entry of service.ports ?? []) {
    // "[IP:]HOST:CONTAINER[/PROTOCOL]", or the long syntax; a lone container port gets a random host port.
    const short = String(entry).split("/")[0].split(":");
    const hostPort = typeof entry === "object" ? String(entry.published ?? "") : short.length > 1 ? short.at(-2) : "";
    if (hostPort === "") continue;
    expect(!published.has(hostPort), `${published.get(hostPort)} and ${name} both publish host port ${hostPort}`);
    published.set(hostPort, name);
  }
}

// The mounted configuration: the receiver port ingest publishes, and write components aimed at the
// compose services.
const configFile = join(root, "deploy", "relay.alloy");
if (!existsSync(configFile)) {
  problems.push("deploy/relay.alloy does not exist");
} else {
  const config = readFileSync(configFile, "utf8").replace(/(^|\s)\/\/.*$/gm, "$1");
  const port = /listen_port\s*=\s*(\d+)/.exec(config)?.[1];
  expect(port === "9999", `the receiver listens on ${port}, expected 9999`);
  expect((services.ingest?.ports ?? []).includes(`${port}:${port}`), `ingest does not publish the receiver port ${port}`);
  expect((services["ingest-cluster"]?.ports ?? []).some((p) => String(p).endsWith(`:${port}`)), `ingest-cluster does not publish the receiver port ${port}`);
  expect(/listen_address\s*=\s*"0\.0\.0\.0"/.test(config), "the receiver must listen on 0.0.0.0 inside the container");
  const forwardTo = /forward_to\s*=\s*\[([^\]]*)\]/.exec(config)?.[1] ?? "";
  for (const [write, url] of [["primary", "http://pyroscope-a:4040"], ["secondary", "http://pyroscope-b:4040"]]) {
    const block = new RegExp(`pyroscope\\.write\\s+"${write}"\\s*\\{\\s*endpoint\\s*\\{\\s*url\\s*=\\s*"([^"]*)"`).exec(config);
    expect(block?.[1] === url, `pyroscope.write "${write}" must have an endpoint with url ${url}`);
    expect(forwardTo.includes(`pyroscope.write.${write}.receiver`), `forward_to does not include pyroscope.write.${write}.receiver`);
  }
}

const dockerfile = existsSync(join(root, "Dockerfile")) ? readFileSync(join(root, "Dockerfile"), "utf8").replace(/\\\n/g, " ") : "";
expect(/^ENTRYPOINT \["node", ?"apps\/cli\/dist\/main\.js"\]$/m.test(dockerfile), "Dockerfile ENTRYPOINT is not the relay command");
expect(/^USER (?!root\b)\S+$/m.test(dockerfile), "Dockerfile runtime does not switch to a non-root user");
expect(/^HEALTHCHECK .*\/-\/ready/m.test(dockerfile), "Dockerfile has no healthcheck on /-/ready");
const dockerignore = existsSync(join(root, ".dockerignore")) ? readFileSync(join(root, ".dockerignore"), "utf8") : "";
expect(/^(\*\*\/)?node_modules\/?$/m.test(dockerignore), ".dockerignore does not exclude node_modules");

if (problems.length > 0) {
  console.error(`check-compose: ${problems.length} problem(s)\n${problems.map((p) => `- ${p}`).join("\n")}`);
  process.exit(1);
}
console.log("check-compose: docker-compose.yml (its cluster profile too), deploy/relay.alloy and Dockerfile are consistent");
