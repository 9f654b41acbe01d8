import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { defaultRelabelRule } from "@pyroscope-relay/profile";
import { configErrors } from "./config-errors-fixture.js";
import { loadConfig } from "./load-config.js";
import { parseConfig } from "./parse-config.js";

const write = (label: string) => `pyroscope.write "${label}" {\n  endpoint { url = "http://${label}:4040" }\n}\n`;
const receive = (label: string, port: number, forwardTo: string) =>
  `pyroscope.receive_http "${label}" {\n  http { listen_port = ${port} }\n  forward_to = [${forwardTo}]\n}\n`;
const relabel = (label: string, forwardTo: string, rules = "") => `pyroscope.relabel "${label}" {\n  forward_to = [${forwardTo}]\n${rules}}\n`;
const dropEnv = (value: string) => `  rule {\n    source_labels = ["env"]\n    regex = "${value}"\n    action = "drop"\n  }\n`;

test("a receiver forwards through relabel components: each target carries their rules, in order, with Alloy's defaults", () => {
  const source =
    receive("in", 4040, "pyroscope.relabel.first.receiver") +
    relabel("first", "pyroscope.relabel.second.receiver", dropEnv("dev")) +
    relabel("second", "pyroscope.write.a.receiver, pyroscope.write.b.receiver", '  rule {\n    source_labels = ["pod"]\n    target_label = "instance"\n  }\n') +
    write("a") +
    write("b") +
    write("direct");
  const config = parseConfig(source, "t.alloy", {});
  assert.deepEqual(
    config.receivers.map((r) => [r.forwardTo, r.targets]),
    [
      [
        ["a", "b"],
        ["a", "b"],
      ],
    ],
  );
  const stages = [
    { component: "pyroscope.relabel.first", rules: [{ ...defaultRelabelRule, sourceLabels: ["env"], regex: "dev", action: "drop" }] },
    { component: "pyroscope.relabel.second", rules: [{ ...defaultRelabelRule, sourceLabels: ["pod"], targetLabel: "instance" }] },
  ];
  assert.deepEqual(
    config.targets.map((t) => [t.name, t.relabel]),
    [
      ["a", stages],
      ["b", stages],
      ["direct", []],
    ],
  );
  assert.deepEqual(config.ignored, []);
});

test("examples/k8s-monitoring-profiles-rules.alloy: the chart's processing rules run, in its custom component", async () => {
  const config = await loadConfig(new URL("../../../examples/k8s-monitoring-profiles-rules.alloy", import.meta.url).pathname, {});
  assert.deepEqual(
    config.receivers.map((r) => [r.label, r.listenPort, r.targets]),
    [["profiles_receiver.feature/pyroscope.receive_http.default", 4040, ["pyroscope"]]],
  );
  assert.deepEqual(
    config.targets.map((t) => [t.name, t.relabel.map(({ component, rules }) => [component, rules.map((rule) => rule.action)])]),
    [["pyroscope", [["profiles_receiver.feature/pyroscope.relabel.default", ["hashmod", "drop"]]]]],
  );
  assert.deepEqual(config.targets[0]?.relabel[0]?.rules[0], {
    ...defaultRelabelRule,
    sourceLabels: ["env"],
    targetLabel: "__tmp_hash",
    action: "hashmod",
    modulus: 2,
  });
});

test("a relabel no receiver's profiles pass is listed as ignored, as one only a pyroscope.scrape uses, whatever it forwards to", () => {
  const enrich = 'pyroscope.enrich "pods" {\n  forward_to = [pyroscope.write.a.receiver]\n}\n';
  const unused = `${relabel("unused", "pyroscope.enrich.pods.receiver")}${enrich}`;
  const config = parseConfig(receive("in", 4040, "pyroscope.write.a.receiver") + unused + write("a"), "t.alloy", {});
  assert.deepEqual(
    config.ignored.map(({ name, label }) => [name, label]),
    [
      ["pyroscope.relabel", "unused"],
      ["pyroscope.enrich", "pods"],
    ],
  );
  assert.deepEqual(config.targets[0]?.relabel, []);
});

const oneWay =
  "the relay stores a profile once and delivers it to each target once, so every way to a pyroscope.write must apply the same pyroscope.relabel rules";

test("refuses two ways to one write that apply different relabel rules, naming both", async () => {
  const twoWays = receive("in", 4040, "pyroscope.relabel.r.receiver, pyroscope.write.a.receiver") + relabel("r", "pyroscope.write.a.receiver") + write("a");
  assert.deepEqual(configErrors(twoWays), [
    `t.alloy:3:47: forward_to[1]: pyroscope.write "a" is reached directly here and through pyroscope.relabel "r" from this receiver too: ${oneWay}`,
  ]);
  const twoReceivers =
    receive("in", 4040, "pyroscope.relabel.r.receiver") +
    receive("other", 4041, "pyroscope.write.a.receiver") +
    relabel("r", "pyroscope.write.a.receiver") +
    write("a");
  assert.deepEqual(configErrors(twoReceivers), [
    `t.alloy:7:17: forward_to[0]: pyroscope.write "a" is reached directly here and through pyroscope.relabel "r" from pyroscope.receive_http "in": ${oneWay}`,
  ]);
  // The same way twice is one way, and so is a way through other relabels with the same rules.
  const same =
    receive("in", 4040, "pyroscope.relabel.r.receiver") +
    receive("other", 4041, "pyroscope.relabel.r.receiver") +
    relabel("r", "pyroscope.write.a.receiver") +
    write("a");
  assert.deepEqual(
    parseConfig(same, "t.alloy", {}).receivers.map((r) => r.targets),
    [["a"], ["a"]],
  );
  const chart = await readFile(new URL("../../../examples/k8s-monitoring-profiles-rules.alloy", import.meta.url), "utf8");
  const twoInstances = `${chart}profiles_receiver "second" {\n  profiles_destinations = [pyroscope.write.pyroscope.receiver]\n}\n`.replace(
    'listen_port = "4040"',
    "listen_port = 0",
  );
  const config = parseConfig(twoInstances, "t.alloy", {});
  assert.deepEqual(
    config.receivers.map((r) => [r.label, r.targets]),
    [
      ["profiles_receiver.feature/pyroscope.receive_http.default", ["pyroscope"]],
      ["profiles_receiver.second/pyroscope.receive_http.default", ["pyroscope"]],
    ],
  );
  assert.deepEqual(
    config.targets[0]?.relabel.map(({ component }) => component),
    ["profiles_receiver.feature/pyroscope.relabel.default"],
  );
  assert.deepEqual(config.ignored, [], "the second instance's relabel runs too");
});

test("refuses a cycle of relabel components, and elements that name nothing a relabel forwards to", () => {
  const cycle =
    receive("in", 4040, "pyroscope.relabel.a.receiver") +
    relabel("a", "pyroscope.relabel.b.receiver") +
    relabel("b", "pyroscope.relabel.a.receiver, pyroscope.write.w.receiver") +
    write("w");
  assert.deepEqual(configErrors(cycle), [
    't.alloy:9:17: forward_to[0]: a cycle: pyroscope.relabel "a" -> pyroscope.relabel "b" -> pyroscope.relabel "a", which Alloy refuses',
  ]);
  const broken =
    receive("in", 4040, "pyroscope.relabel.a.receiver") + relabel("a", "pyroscope.write.nope.receiver, pyroscope.relabel.none.receiver, logging.x");
  assert.deepEqual(configErrors(broken), [
    't.alloy:6:17: forward_to[0]: pyroscope.write "nope" does not exist',
    't.alloy:6:48: forward_to[1]: pyroscope.relabel "none" does not exist',
    "t.alloy:6:81: forward_to[2]: logging.x is not a pyroscope.write or pyroscope.relabel receiver; expected pyroscope.write.<label>.receiver or pyroscope.relabel.<label>.receiver",
  ]);
});

test("refuses a receiver whose relabels forward to no write: every profile would be dropped", () => {
  const nowhere = receive("in", 4040, "pyroscope.relabel.r.receiver") + relabel("r", "");
  assert.deepEqual(configErrors(nowhere), ["t.alloy:3:16: forward_to: reaches no pyroscope.write: the pyroscope.relabel components it names forward to none"]);
});

test("refuses rules Alloy refuses, where they are", () => {
  const rules = [
    '  rule {\n    action = "explode"\n  }\n',
    '  rule {\n    action = "hashmod"\n    target_label = "h"\n  }\n',
    '  rule {\n    regex = "(?=x)"\n    action = "drop"\n  }\n',
    '  rule {\n    sources = ["a"]\n  }\n',
  ].join("");
  const source =
    receive("in", 4040, "pyroscope.relabel.r.receiver") + relabel("r", "pyroscope.write.a.receiver", `${rules}  max_cache_size = 0\n`) + write("a");
  assert.deepEqual(configErrors(source), [
    't.alloy:8:14: action: unrecognized action type "explode"; expected one of replace, keep, drop, hashmod, labelmap, labeldrop, labelkeep, lowercase, uppercase, keepequal, dropequal',
    "t.alloy:10:3: relabel configuration for hashmod requires non-zero modulus",
    't.alloy:14:3: invalid regex "(?=x)": invalid perl operator: (?=',
    "t.alloy:18:3: relabel configuration for replace action requires 'target_label' value",
    't.alloy:19:5: unknown attribute "sources"',
    "t.alloy:21:20: max_cache_size: must be a whole number at least 1",
  ]);
});
