import { test } from "node:test";
import assert from "node:assert/strict";
import { configErrors } from "./config-errors-fixture.js";
import { parseConfig } from "./parse-config.js";

// Grafana's k8s-monitoring Helm chart renders its profiles receiver so (charts/k8s-monitoring/docs/examples/features/profiles-receiver).
const chartDeclare = `declare "profiles_receiver" {
  argument "profiles_destinations" {
    comment = "Must be a list of profile destinations where collected profiles should be forwarded to"
  }
  pyroscope.receive_http "default" {
    http {
      listen_address = "0.0.0.0"
      listen_port = "4040"
    }
    forward_to = argument.profiles_destinations.value
  }
}
`;
const instance = (label: string) => `profiles_receiver "${label}" {\n  profiles_destinations = [\n    pyroscope.write.pyroscope.receiver,\n  ]\n}\n`;
const write = 'pyroscope.write "pyroscope" {\n  endpoint { url = "http://pyroscope.pyroscope.svc:4040" }\n}\n';
const chart = chartDeclare + instance("feature") + write;

const receivers = (source: string) => parseConfig(source, "t.alloy", {}).receivers.map((r) => [r.label, r.listenAddress, r.listenPort, r.targets]);

test("runs the k8s-monitoring chart's receiver, in a custom component, once for its instance, named by Alloy's component ID", () => {
  const config = parseConfig(chart, "t.alloy", {});
  assert.deepEqual(
    config.receivers.map((r) => [r.label, r.listenAddress, r.listenPort, r.forwardTo, r.targets]),
    [["profiles_receiver.feature/pyroscope.receive_http.default", "0.0.0.0", 4040, ["pyroscope"], ["pyroscope"]]],
  );
  // The declare runs, and so is not listed as ignored, nor is its instance.
  assert.deepEqual(config.ignored, []);
});

test("runs a top-level receiver beside one in a custom component", () => {
  const topLevel = 'pyroscope.receive_http "direct" {\n  http {\n    listen_port = 4041\n  }\n  forward_to = [pyroscope.write.pyroscope.receiver]\n}\n';
  assert.deepEqual(receivers(chart + topLevel), [
    ["profiles_receiver.feature/pyroscope.receive_http.default", "0.0.0.0", 4040, ["pyroscope"]],
    ["direct", "", 4041, ["pyroscope"]],
  ]);
});

test("runs one receiver for each instance; two on one port clash, the message naming both", () => {
  const onPort = (port: string) => chart.replace('listen_port = "4040"', `listen_port = ${port}`) + instance("second");
  assert.deepEqual(receivers(onPort("0")), [
    ["profiles_receiver.feature/pyroscope.receive_http.default", "0.0.0.0", 0, ["pyroscope"]],
    ["profiles_receiver.second/pyroscope.receive_http.default", "0.0.0.0", 0, ["pyroscope"]],
  ]);
  assert.deepEqual(configErrors(onPort('"4040"')), [
    "t.alloy:8:21: port 4040 is already used by profiles_receiver.feature/pyroscope.receive_http.default (defined at 5:3) (in custom component profiles_receiver.second)",
  ]);
});

test("a component in a declare body sees only its arguments and its body, as in Alloy: a top-level component is out of scope", () => {
  const source = chart.replace("forward_to = argument.profiles_destinations.value", "forward_to = [pyroscope.write.pyroscope.receiver]");
  assert.deepEqual(configErrors(source), [
    't.alloy:10:19: component "pyroscope.write.pyroscope.receiver" does not exist or is out of scope: in declare "profiles_receiver" an expression sees only its arguments (argument.NAME.value) and the components of its body; pass a top-level component in an argument (in custom component profiles_receiver.feature)',
  ]);
});

test("a body's component the relay does not run stays a reference, named as such in forward_to, and is listed as ignored once", () => {
  const source = chart
    .replace("forward_to = argument.profiles_destinations.value", "forward_to = [pyroscope.enrich.inner.receiver]")
    .replace(
      '  pyroscope.receive_http "default" {',
      '  pyroscope.enrich "inner" {\n    forward_to = argument.profiles_destinations.value\n  }\n  pyroscope.receive_http "default" {',
    );
  assert.deepEqual(configErrors(source), [
    't.alloy:13:19: forward_to[0]: pyroscope.enrich.inner.receiver is not a pyroscope.write or pyroscope.relabel receiver; the relay does not run pyroscope.enrich "inner", only pyroscope.receive_http, pyroscope.relabel and pyroscope.write (in custom component profiles_receiver.feature)',
  ]);
  const listed =
    chart.replace('  pyroscope.receive_http "default" {', '  discovery.kubernetes "pods" {\n    role = "pod"\n  }\n  pyroscope.receive_http "default" {') +
    instance("second");
  const config = parseConfig(listed.replace(/listen_port = "4040"/, "listen_port = 0"), "t.alloy", {});
  assert.deepEqual(config.ignored, [{ name: "discovery.kubernetes", label: "pods", file: "t.alloy", line: 5, col: 3 }]);
});

test("refuses a pyroscope.write inside a declare, which the relay would need a target name for", () => {
  const source = chart.replace(
    '  pyroscope.receive_http "default" {',
    '  pyroscope.write "inner" {\n    endpoint { url = "http://x" }\n  }\n  pyroscope.receive_http "default" {',
  );
  assert.deepEqual(configErrors(source), [
    't.alloy:5:3: pyroscope.write inside declare "profiles_receiver" is not run by the relay: define it at the top level and pass its receiver in an argument (in custom component profiles_receiver.feature)',
  ]);
});

test("refuses a receiver inside foreach, or an instance that runs one, where Alloy would run one for each item", () => {
  const foreach = (template: string) => `foreach "each_port" {\n  collection = [4041, 4042]\n  var = "port"\n  template {\n${template}  }\n}\n`;
  assert.deepEqual(configErrors(chart + foreach('    pyroscope.receive_http "x" {\n      forward_to = [pyroscope.write.pyroscope.receiver]\n    }\n')), [
    't.alloy:25:5: pyroscope.receive_http "x" inside foreach "each_port" is not run by the relay: Alloy would run one for each item of the collection; define it outside foreach',
  ]);
  assert.deepEqual(configErrors(chartDeclare + write + foreach(instance("inner"))), [
    "t.alloy: no pyroscope.receive_http component: nothing would receive profiles",
    't.alloy:20:1: profiles_receiver "inner" inside foreach "each_port" is not run by the relay: Alloy would run one for each item of the collection; define it outside foreach',
  ]);
  // A declare the template defines itself, and its instance there.
  const innerDeclare = 'declare "inner_receiver" {\n  argument "d" { }\n  pyroscope.receive_http "default" {\n    forward_to = argument.d.value\n  }\n}\n';
  const innerInstance = 'inner_receiver "x" {\n  d = [pyroscope.write.pyroscope.receiver]\n}\n';
  const [refusal, ...others] = configErrors(chart + foreach(innerDeclare + innerInstance));
  assert.deepEqual(others, []);
  assert.match(refusal ?? "", /^t\.alloy:\d+:\d+: inner_receiver "x" inside foreach "each_port" is not run by the relay/);
});

test("a declare no instance uses runs nothing, and an instance of a declare without the relay's components is ignored, unevaluated", () => {
  const unused = 'declare "unused" {\n  pyroscope.receive_http "x" {\n    forward_to = argument.out.value\n  }\n}\n';
  const metrics =
    'declare "metrics" {\n  prometheus.scrape "x" {\n    forward_to = argument.out.value\n  }\n}\nmetrics "feature" {\n  out = no_such_function()\n}\n';
  const config = parseConfig(chart + unused + metrics, "t.alloy", {});
  assert.deepEqual(
    config.receivers.map((r) => r.label),
    ["profiles_receiver.feature/pyroscope.receive_http.default"],
  );
  assert.deepEqual(
    config.ignored.map(({ name, label, line }) => [name, label, line]),
    [
      ["declare", "unused", 21],
      ["declare", "metrics", 26],
      ["metrics", "feature", 31],
    ],
  );
});

test("runs a declare nested in a declare, and one the body instantiates from the top level, with nested IDs", () => {
  const source = `declare "outer" {
  argument "out" { }
  declare "inner" {
    argument "out" { }
    pyroscope.receive_http "nested" {
      http { listen_port = 0 }
      forward_to = argument.out.value
    }
  }
  inner "a" {
    out = argument.out.value
  }
  profiles_receiver "b" {
    profiles_destinations = argument.out.value
  }
}
outer "x" {
  out = [pyroscope.write.pyroscope.receiver]
}
${chartDeclare}${write}`;
  assert.deepEqual(receivers(source), [
    ["outer.x/inner.a/pyroscope.receive_http.nested", "", 0, ["pyroscope"]],
    ["outer.x/profiles_receiver.b/pyroscope.receive_http.default", "0.0.0.0", 4040, ["pyroscope"]],
  ]);
});

test("refuses an instance of a declare inside its own body, a cycle", () => {
  const source = chart.replace(
    "forward_to = argument.profiles_destinations.value\n  }\n",
    'forward_to = argument.profiles_destinations.value\n  }\n  profiles_receiver "again" {\n    profiles_destinations = argument.profiles_destinations.value\n  }\n',
  );
  assert.deepEqual(configErrors(source), [
    't.alloy:12:3: profiles_receiver "again" instantiates declare "profiles_receiver" inside its own body: a cycle, which Alloy refuses (in custom component profiles_receiver.feature)',
  ]);
});

test("a body's local.file is read with the instance's arguments, and named by its component ID", () => {
  const source = chart
    .replace(
      '  argument "profiles_destinations" {',
      '  argument "token_file" { }\n  local.file "token" {\n    filename = argument.token_file.value\n  }\n  argument "profiles_destinations" {',
    )
    .replace('listen_port = "4040"', "listen_port = string.trim_space(local.file.token.content)")
    .replace("profiles_destinations = [", 'token_file = "/etc/port"\n  profiles_destinations = [');
  const config = parseConfig(source, "t.alloy", {}, (path) => (path === "/etc/port" ? "4043\n" : assert.fail(path)));
  assert.deepEqual(
    config.receivers.map((r) => r.listenPort),
    [4043],
  );
  assert.deepEqual(
    config.localFiles.map(({ label, path }) => [label, path]),
    [["profiles_receiver.feature/local.file.token", "/etc/port"]],
  );
  assert.deepEqual(configErrors(chart.replace('listen_port = "4040"', "listen_port = local.file.top.content")), [
    't.alloy:8:21: local.file.top is not defined: declare "profiles_receiver" has no local.file "top" block in its body, and its components see nothing else (in custom component profiles_receiver.feature)',
  ]);
});

test("an imported module's custom components stay ignored: their declares are not visible", () => {
  const source = `import.file "profiles" {\n  filename = "profiles.alloy"\n}\nprofiles.receiver "x" {\n  out = [pyroscope.write.pyroscope.receiver]\n}\n${chart}`;
  assert.deepEqual(
    parseConfig(source, "t.alloy", {}).ignored.map(({ name, label }) => [name, label]),
    [
      ["import.file", "profiles"],
      ["profiles.receiver", "x"],
    ],
  );
});
