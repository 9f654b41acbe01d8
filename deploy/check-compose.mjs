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
console.log("check-compose: docker-compose.yml, deploy/relay.alloy and Dockerfile are consistent");
