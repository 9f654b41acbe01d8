#!/usr/bin/env node
// Static check of the container files, for machines without a Docker engine:
//   node deploy/check-compose.mjs [repository root]
// Prints every problem found and exits 1 if there is any.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, posix, relative, resolve } from "node:path";
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

/**
 * The tag of an image reference ("" without one), or "@" when it is pinned by digest.
 * "registry:5000/name" has a port, not a tag: the tag follows the last "/".
 */
const imageTag = (image) => {
  const text = String(image ?? "");
  if (text.includes("@sha256:")) return "@";
  const name = text.slice(text.lastIndexOf("/") + 1);
  return name.includes(":") ? name.slice(name.indexOf(":") + 1) : "";
};
// Pinned images everywhere: an upgrade is a change to this file, never a surprise at `pull`.
for (const [name, service] of Object.entries(services)) {
  if (service.image === undefined) {
    expect(service.build !== undefined, `${name} has neither an image nor a build`);
    continue;
  }
  const tag = imageTag(service.image);
  expect(tag !== "" && tag !== "latest" && !/^\$\{/.test(tag), `${name} image ${service.image} is not pinned to a version (no tag, or latest)`);
}

/** Bytes of a Redis memory setting: 1k = 1000, 1kb = 1024 (redis.conf's units), case-insensitive. */
const redisBytes = (text) => {
  const match = /^(\d+)(k|kb|m|mb|g|gb)?$/i.exec(String(text ?? ""));
  if (!match) return undefined;
  const units = { k: 1e3, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 };
  return Number(match[1]) * (match[2] ? units[match[2].toLowerCase()] : 1);
};
/** Bytes of a compose memory limit: 512m, 2G, 2gb, a plain number of bytes (1024-based units). */
const composeBytes = (value) => {
  const match = /^(\d+(?:\.\d+)?)\s*([bkmg])?b?$/i.exec(String(value ?? ""));
  if (!match) return undefined;
  const units = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
  return Math.floor(Number(match[1]) * (match[2] ? units[match[2].toLowerCase()] : 1));
};
const memoryLimit = (service) => service.deploy?.resources?.limits?.memory ?? service.mem_limit;
/**
 * A Redis with a maxmemory (the relay's memory guard pauses ingest at 95% of it; without one it
 * sees no limit) and a container memory limit above it (room for the AOF rewrite's fork and buffers).
 */
const expectMemoryBounds = (name, service) => {
  const command = Array.isArray(service.command) ? service.command : [];
  const maxmemory = redisBytes(flag(command, "--maxmemory"));
  expect(maxmemory !== undefined && maxmemory > 0, `${name} command lacks a --maxmemory (such as 1gb): the relay's memory guard needs it`);
  const limit = composeBytes(memoryLimit(service));
  expect(limit !== undefined, `${name} has no container memory limit (deploy.resources.limits.memory or mem_limit)`);
  if (maxmemory !== undefined && limit !== undefined) {
    expect(limit > maxmemory, `${name} memory limit ${memoryLimit(service)} is not above its --maxmemory ${flag(command, "--maxmemory")}`);
  }
};

const redis = services.redis ?? {};
// Any pinned Redis 7 or later (or Valkey, its fork): not one version in particular.
const redisImage = /^(?:redis|valkey\/valkey):(\d+)(?:\.\d+){0,2}(?:-[\w.]+)?$/.exec(redis.image ?? "");
expect(Number(redisImage?.[1]) >= 7, `redis image is ${redis.image}, expected a pinned redis (or valkey/valkey) tag of version 7 or later`);
const redisCommand = Array.isArray(redis.command) ? redis.command : [];
for (const [name, value] of [
  ["--appendonly", "yes"],
  ["--appendfsync", "everysec"],
  ["--auto-aof-rewrite-min-size", "1gb"],
  ["--maxmemory-policy", "noeviction"],
]) {
  expect(flag(redisCommand, name) === value, `redis command lacks ${name} ${value}`);
}
expectMemoryBounds("redis", redis);
/** Whether a Redis service's jemalloc backs its heap with huge pages (README, "Your own Redis"). */
const hugePageHeap = (service) => service.environment?.JE_MALLOC_CONF === "thp:always";
expect(hugePageHeap(redis), "redis lacks JE_MALLOC_CONF thp:always in its environment");
expect(
  (redis.volumes ?? []).some((v) => /^[\w-]+:\/data$/.test(v) && compose.volumes && v.split(":")[0] in compose.volumes),
  "redis /data is not on a named volume",
);
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

/** The named volume mounted at a container path, or undefined. */
const namedVolumeAt = (service, path) => {
  for (const entry of service.volumes ?? []) {
    const [source, target] = typeof entry === "object" ? [entry.source, entry.target] : String(entry).split(":");
    if (target === path && /^[\w-]+$/.test(source ?? "") && compose.volumes && source in compose.volumes) return source;
  }
  return undefined;
};
const pyroscopeVolumes = [];
for (const [name, hostPort] of [
  ["pyroscope-a", "4040"],
  ["pyroscope-b", "4041"],
]) {
  const service = services[name] ?? {};
  expect(/^grafana\/pyroscope:\d+\.\d+\.\d+$/.test(service.image ?? ""), `${name} image is ${service.image}, expected grafana/pyroscope at an exact version`);
  expect((service.ports ?? []).includes(`${hostPort}:4040`), `${name} must publish ${hostPort}:4040`);
  // The image is distroless (no shell, wget or curl): the check must run a binary it ships, in exec form.
  const test = Array.isArray(service.healthcheck?.test) ? service.healthcheck.test.map(String) : [];
  expect(
    test[0] === "CMD" && /^(\/usr\/bin\/)?(profilecli|pyroscope)$/.test(test[1] ?? "") && test.some((arg) => /(^|\/)ready$|localhost:4040/.test(arg)),
    `${name} healthcheck must ask /ready in exec form with a binary the image has, e.g. ["CMD", "/usr/bin/profilecli", "ready", "--url=http://localhost:4040"]`,
  );
  const volume = namedVolumeAt(service, "/data");
  expect(volume !== undefined, `${name} /data is not on a named volume`);
  pyroscopeVolumes.push(volume);
}
expect(new Set(pyroscopeVolumes).size === pyroscopeVolumes.length, "pyroscope-a and pyroscope-b share a /data volume");

// Profile cluster: six Redis Cluster nodes (three masters with a replica each), the one-shot service
// that creates the cluster, and ingest and writer on it.
const commandOf = (service) => (Array.isArray(service?.command) ? service.command : []);
const inCluster = (name) => (services[name]?.profiles ?? []).includes("cluster");
const sameSet = (a, b) => a.length === b.length && [...a].sort().join() === [...b].sort().join();
const networksOf = (service) => (Array.isArray(service.networks) ? service.networks : Object.keys(service.networks ?? { default: null }));
/** An exact version, for the redis-cli of the init service to match the nodes; hostnames need 7+. */
const pinnedRedis = (image) => Number(/^(?:redis|valkey\/valkey):(\d+)\.\d+\.\d+(-[\w.]+)?$/.exec(image ?? "")?.[1]) >= 7;
const ipv4 = (text) =>
  /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/
    .exec(text ?? "")
    ?.slice(1)
    .reduce((n, part) => n * 256 + Number(part), 0);
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
  const nodeFlags = [
    ["--cluster-enabled", "yes"],
    ["--appendonly", "yes"],
    ["--auto-aof-rewrite-min-size", "1gb"],
    ["--maxmemory-policy", "noeviction"],
    ["--cluster-announce-hostname", name],
    ["--cluster-preferred-endpoint-type", "hostname"],
  ];
  for (const [flagName, value] of nodeFlags) {
    expect(flag(command, flagName) === value, `${name} command lacks ${flagName} ${value}`);
  }
  expectMemoryBounds(name, node);
  expect(hugePageHeap(node), `${name} lacks JE_MALLOC_CONF thp:always in its environment`);
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
  expect(
    attached.length === 1 && ipam.some((c) => inSubnet(address, c.subnet) && !(c.ip_range && inSubnet(address, c.ip_range))),
    `${name} must be on one network with a fixed ipv4_address in its ipam subnet, outside its ip_range`,
  );
  nodeNetworks.add(network);
  nodeAddresses.push(address);
}
expect(new Set(nodeVolumes).size === nodeVolumes.length, "cluster nodes share a /data volume");
expect(new Set(nodeAddresses).size === nodeAddresses.length, "cluster nodes share an ipv4_address");
expect(nodeNetworks.size === 1, "the cluster nodes must share one network");
const [clusterNetwork] = nodeNetworks;

const init = services["redis-cluster-init"] ?? {};
expect(inCluster("redis-cluster-init"), "service redis-cluster-init (profile cluster) is missing");
expect(
  pinnedRedis(init.image) && nodes.every((name) => services[name].image === init.image),
  `redis-cluster-init image is ${init.image}, expected the nodes' image`,
);
expect(init.restart === undefined || init.restart === "no", "redis-cluster-init restarts, so it never completes");
for (const name of nodes) {
  expect(init.depends_on?.[name]?.condition === "service_healthy", `redis-cluster-init must wait for a healthy ${name}`);
}
expect(networksOf(init).includes(clusterNetwork), `redis-cluster-init is not on the nodes' network ${clusterNetwork}`);
const initCommand = commandOf(init);
const scriptPath = (init.volumes ?? []).find((v) => v.startsWith("./deploy/redis-cluster-init.sh:"))?.split(":")[1];
expect(
  scriptPath !== undefined && initCommand[0] === "sh" && initCommand[1] === scriptPath,
  "redis-cluster-init must run deploy/redis-cluster-init.sh, mounted",
);
expect(sameSet(initCommand.slice(2), endpoints), `redis-cluster-init is given ${initCommand.slice(2).join(" ")}, expected every node: ${endpoints.join(" ")}`);
const initScript = join(root, "deploy", "redis-cluster-init.sh");
const create = (existsSync(initScript) ? readFileSync(initScript, "utf8") : "").split("\n").find((line) => /^\s*redis-cli --cluster create /.test(line)) ?? "";
expect(
  / --cluster-replicas 1( |$)/.test(create) && / --cluster-yes( |$)/.test(create),
  "deploy/redis-cluster-init.sh does not run redis-cli --cluster create ... --cluster-replicas 1 --cluster-yes",
);

const shards = [];
for (const [name, role] of [
  ["ingest-cluster", "ingest"],
  ["writer-cluster", "writer"],
]) {
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
  expect(
    networksOf(service).includes(clusterNetwork) && networksOf(service).includes("default"),
    `${name} must be on the networks default and ${clusterNetwork}`,
  );
  expect((service.volumes ?? []).includes(`./deploy/relay.alloy:${configPath}:ro`), `${name} does not mount deploy/relay.alloy read-only at ${configPath}`);
  expect(service.image !== undefined && service.image === services.ingest?.image, `${name} must use ingest's image`);
}
expect(
  /^[1-9]\d*$/.test(shards[0] ?? "") && shards[0] !== "1" && shards[1] === shards[0],
  `ingest-cluster and writer-cluster need one --target.queue-shards above 1, have ${shards.join(" and ")}`,
);
const ingestCluster = commandOf(services["ingest-cluster"]);
expect(flag(ingestCluster, "--redis.min-replicas") === "1", "ingest-cluster must wait for 1 replica: --redis.min-replicas 1");
expect(/^\d+(ms|s)$/.test(flag(ingestCluster, "--redis.replica-timeout") ?? ""), "ingest-cluster lacks a --redis.replica-timeout such as 500ms");
const writerCluster = services["writer-cluster"] ?? {};
expect(
  writerCluster.ports === undefined && writerCluster.container_name === undefined,
  "writer-cluster publishes ports or names its container: --scale would fail",
);

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
  expect(
    (services["ingest-cluster"]?.ports ?? []).some((p) => String(p).endsWith(`:${port}`)),
    `ingest-cluster does not publish the receiver port ${port}`,
  );
  expect(/listen_address\s*=\s*"0\.0\.0\.0"/.test(config), "the receiver must listen on 0.0.0.0 inside the container");
  const forwardTo = /forward_to\s*=\s*\[([^\]]*)\]/.exec(config)?.[1] ?? "";
  for (const [write, url] of [
    ["primary", "http://pyroscope-a:4040"],
    ["secondary", "http://pyroscope-b:4040"],
  ]) {
    const block = new RegExp(`pyroscope\\.write\\s+"${write}"\\s*\\{\\s*endpoint\\s*\\{\\s*url\\s*=\\s*"([^"]*)"`).exec(config);
    expect(block?.[1] === url, `pyroscope.write "${write}" must have an endpoint with url ${url}`);
    expect(forwardTo.includes(`pyroscope.write.${write}.receiver`), `forward_to does not include pyroscope.write.${write}.receiver`);
  }
}

// Bind mounts: the host file behind a container path, or undefined when no ./ mount covers it.
const hostPath = (service, containerPath) => {
  for (const entry of service.volumes ?? []) {
    const [source, target] = typeof entry === "object" ? [entry.source, entry.target] : String(entry).split(":");
    if (!String(source ?? "").startsWith("./") || target === undefined) continue;
    const rest = posix.relative(target, containerPath);
    if (rest === "" || (!rest.startsWith("..") && !posix.isAbsolute(rest))) return join(root, source, rest);
  }
  return undefined;
};
const readYaml = (file) => {
  try {
    return parse(readFileSync(file, "utf8"));
  } catch (error) {
    problems.push(`${relative(root, file)} is not valid YAML: ${error.message}`);
    return undefined;
  }
};
const yamlFiles = (dir) =>
  existsSync(dir) && statSync(dir).isDirectory()
    ? readdirSync(dir)
        .filter((f) => /\.ya?ml$/.test(f))
        .map((f) => join(dir, f))
    : [];
const opsPort = (name) => (flag(commandOf(services[name]), "--server.http.listen-addr") ?? "").split(":").at(-1);

// Prometheus: the alert rules, and a scrape of ingest and of every writer replica. `--scale writer=N`
// gives N containers behind one service name, which Docker's DNS answers with all of their
// addresses: an A-record dns_sd_configs finds each one, a static target would reach one at random.
const prometheus = services.prometheus ?? {};
expect(services.prometheus !== undefined, "service prometheus is missing");
expect(
  /^(prom|quay\.io\/prometheus)\/prometheus:v\d+\.\d+\.\d+$/.test(prometheus.image ?? ""),
  `prometheus image is ${prometheus.image}, expected prom/prometheus at an exact version`,
);
const prometheusArgs = commandOf(prometheus);
const configArg = prometheusArgs.find((arg) => String(arg).startsWith("--config.file="))?.split("=")[1] ?? "/etc/prometheus/prometheus.yml";
const prometheusConfigFile = hostPath(prometheus, configArg);
expect(
  prometheusConfigFile !== undefined && existsSync(prometheusConfigFile),
  `prometheus --config.file ${configArg} is not a file of deploy/prometheus mounted into the container`,
);
expect(
  namedVolumeAt(prometheus, prometheusArgs.find((a) => String(a).startsWith("--storage.tsdb.path="))?.split("=")[1] ?? "/prometheus") !== undefined,
  "prometheus storage is not on a named volume",
);
const prometheusConfig = prometheusConfigFile && existsSync(prometheusConfigFile) ? readYaml(prometheusConfigFile) : undefined;
if (prometheusConfig !== undefined) {
  const ruleFiles = prometheusConfig?.rule_files ?? [];
  expect(ruleFiles.length > 0, "prometheus.yml loads no rule_files");
  for (const ruleFile of ruleFiles) {
    // Relative paths resolve against the configuration file's directory (in the container, and for promtool here).
    const file = hostPath(prometheus, posix.resolve(posix.dirname(configArg), ruleFile));
    expect(
      !/[*?[]/.test(ruleFile) && file !== undefined && existsSync(file),
      `prometheus rule file ${ruleFile} is not a file mounted from deploy/prometheus (no globs)`,
    );
  }
  const jobs = prometheusConfig?.scrape_configs ?? [];
  // The ops server serves plain HTTP /metrics.
  const relayJobs = jobs.filter((job) => (job.metrics_path ?? "/metrics") === "/metrics" && (job.scheme ?? "http") === "http");
  const viaDns = (serviceName, port) =>
    relayJobs.some((job) => (job.dns_sd_configs ?? []).some((sd) => sd.type === "A" && String(sd.port) === port && (sd.names ?? []).includes(serviceName)));
  const viaStatic = (serviceName, port) =>
    relayJobs.some((job) => (job.static_configs ?? []).some((sc) => (sc.targets ?? []).includes(`${serviceName}:${port}`)));
  for (const name of ["ingest", "writer", "ingest-cluster", "writer-cluster"]) {
    if (services[name] === undefined) continue;
    const port = opsPort(name);
    const scalable = services[name].ports === undefined;
    expect(
      viaDns(name, port) || (!scalable && viaStatic(name, port)),
      scalable
        ? `prometheus does not scrape every ${name} replica: add ${name} to a dns_sd_configs of type A on port ${port}`
        : `prometheus does not scrape ${name} on port ${port}`,
    );
  }
}

// Grafana: data sources for both Pyroscope servers and Prometheus, and the relay's dashboard.
const grafana = services.grafana ?? {};
expect(services.grafana !== undefined, "service grafana is missing");
expect(/^grafana\/grafana(-oss)?:\d+\.\d+\.\d+$/.test(grafana.image ?? ""), `grafana image is ${grafana.image}, expected grafana/grafana at an exact version`);
const provisioningPath = grafana.environment?.GF_PATHS_PROVISIONING ?? "/etc/grafana/provisioning";
const provisioning = hostPath(grafana, provisioningPath);
expect(provisioning !== undefined && existsSync(provisioning), `grafana ${provisioningPath} is not a directory mounted from deploy/grafana`);
const datasources = provisioning === undefined ? [] : yamlFiles(join(provisioning, "datasources")).flatMap((file) => readYaml(file)?.datasources ?? []);
const prometheusPort =
  prometheusArgs
    .find((a) => String(a).startsWith("--web.listen-address="))
    ?.split(":")
    .at(-1) ?? "9090";
for (const [type, url] of [
  ["grafana-pyroscope-datasource", "http://pyroscope-a:4040"],
  ["grafana-pyroscope-datasource", "http://pyroscope-b:4040"],
  ["prometheus", `http://prometheus:${prometheusPort}`],
]) {
  expect(
    datasources.some((ds) => ds.type === type && String(ds.url ?? "").replace(/\/$/, "") === url),
    `grafana has no provisioned ${type} data source with url ${url}`,
  );
}
const datasourceUids = new Set(datasources.map((ds) => ds.uid).filter((uid) => uid !== undefined));
expect(
  datasources.every((ds) => ds.uid !== undefined),
  "every provisioned grafana data source needs a uid (the dashboard refers to them by uid)",
);
/** Every datasource uid a dashboard refers to, except template variables and Grafana's built-in ones. */
const referencedUids = (node, found = new Set()) => {
  if (Array.isArray(node)) node.forEach((item) => referencedUids(item, found));
  else if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (
        key === "datasource" &&
        value &&
        typeof value === "object" &&
        typeof value.uid === "string" &&
        !/^(\$|-- )/.test(value.uid) &&
        value.type !== "grafana"
      )
        found.add(value.uid);
      else referencedUids(value, found);
    }
  }
  return found;
};
const providers = provisioning === undefined ? [] : yamlFiles(join(provisioning, "dashboards")).flatMap((file) => readYaml(file)?.providers ?? []);
expect(providers.length > 0, "grafana has no dashboard provider in provisioning/dashboards");
let dashboards = 0;
for (const provider of providers) {
  const dir = provider.options?.path === undefined ? undefined : hostPath(grafana, provider.options.path);
  if (dir === undefined || !existsSync(dir)) {
    problems.push(`grafana dashboard provider ${provider.name} reads ${provider.options?.path}, which no ./deploy mount provides`);
    continue;
  }
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".json"))) {
    dashboards += 1;
    let dashboard;
    try {
      dashboard = JSON.parse(readFileSync(join(dir, file), "utf8"));
    } catch (error) {
      problems.push(`${relative(root, join(dir, file))} is not valid JSON: ${error.message}`);
      continue;
    }
    expect(typeof dashboard.uid === "string" && typeof dashboard.title === "string", `${relative(root, join(dir, file))} needs a uid and a title`);
    for (const uid of referencedUids(dashboard)) {
      expect(datasourceUids.has(uid), `${relative(root, join(dir, file))} refers to data source uid ${uid}, which is not provisioned`);
    }
  }
}
expect(dashboards > 0, "grafana provisions no dashboard JSON");
const home = grafana.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
if (home !== undefined) {
  const file = hostPath(grafana, home);
  expect(file !== undefined && existsSync(file), `GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ${home} is not a mounted file`);
}

// Operators' commands: one-off containers of the relay image (`docker compose run --rm relay-cli ...`),
// never started by `up`, pointed at the same Redis as the relay.
for (const [name, env, like] of [
  ["relay-cli", "REDIS_URL", "ingest"],
  ["relay-cli-cluster", "RELAY_REDIS_CLUSTER_NODES", "ingest-cluster"],
]) {
  const service = services[name] ?? {};
  expect(services[name] !== undefined, `service ${name} (docker compose run --rm ${name} failed|replay|purge ...) is missing`);
  expect(
    (service.profiles ?? []).length > 0 && !(service.profiles ?? []).includes("cluster"),
    `${name} must have a profile of its own, so that up does not start it`,
  );
  expect(
    service.image === services.ingest?.image && (service.volumes ?? []).includes(`./deploy/relay.alloy:${configPath}:ro`),
    `${name} must use ingest's image and mount deploy/relay.alloy`,
  );
  const target = like === "ingest" ? flag(commandOf(services.ingest), "--redis.url") : flag(commandOf(services[like]), "--redis.cluster-nodes");
  expect(service.environment?.[env] === target, `${name} ${env} is ${service.environment?.[env]}, expected ${like}'s ${target}`);
  const shards = flag(commandOf(services[like]), "--target.queue-shards") ?? "1";
  expect(String(service.environment?.RELAY_TARGET_QUEUE_SHARDS ?? "1") === shards, `${name} must use ${like}'s --target.queue-shards ${shards}`);
}
// Every ack waits on Redis and ingest, deliveries can wait: when the host's cores are all busy, the
// ack path goes first. Docker's default weight is 1024.
const cpuShares = (name) => services[name]?.cpu_shares ?? 1024;
for (const [first, writer] of [
  [["redis", "ingest"], "writer"],
  [[...nodes, "ingest-cluster"], "writer-cluster"],
]) {
  for (const name of first) {
    expect(cpuShares(name) > cpuShares(writer), `${name} cpu_shares ${cpuShares(name)} is not above ${writer}'s ${cpuShares(writer)}: acks wait on ${name}`);
  }
}

const header = readFileSync(join(root, "docker-compose.yml"), "utf8");
for (const command of ["failed", "replay", "purge"]) {
  expect(
    new RegExp(`docker compose (--profile \\w+ )?run --rm relay-cli ${command} ${configPath}`).test(header),
    `docker-compose.yml does not show "docker compose run --rm relay-cli ${command} ${configPath} ..."`,
  );
}

const dockerfile = existsSync(join(root, "Dockerfile")) ? readFileSync(join(root, "Dockerfile"), "utf8").replace(/\\\n/g, " ") : "";
expect(
  /^ENTRYPOINT \["node", ?"--max-semi-space-size=16", ?"apps\/cli\/dist\/main\.js"\]$/m.test(dockerfile),
  "Dockerfile ENTRYPOINT is not the relay command",
);
expect(/^USER (?!root\b)\S+$/m.test(dockerfile), "Dockerfile runtime does not switch to a non-root user");
expect(/^HEALTHCHECK .*\/-\/ready/m.test(dockerfile), "Dockerfile has no healthcheck on /-/ready");
const dockerignore = existsSync(join(root, ".dockerignore")) ? readFileSync(join(root, ".dockerignore"), "utf8") : "";
expect(/^(\*\*\/)?node_modules\/?$/m.test(dockerignore), ".dockerignore does not exclude node_modules");

if (problems.length > 0) {
  console.error(`check-compose: ${problems.length} problem(s)\n${problems.map((p) => `- ${p}`).join("\n")}`);
  process.exit(1);
}
console.log("check-compose: docker-compose.yml (its cluster profile too), deploy/relay.alloy, deploy/prometheus, deploy/grafana and Dockerfile are consistent");
