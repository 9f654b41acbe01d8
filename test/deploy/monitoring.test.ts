// The monitoring that docker-compose.yml deploys: Prometheus' configuration and alert rules (checked
// and unit-tested by promtool) and the Grafana dashboard, whose queries may only name metrics the
// relay exports. The compose file itself is checked by deploy/check-compose.mjs (npm run lint).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, test } from "node:test";
import { RelayMetrics } from "@pyroscope-relay/ops";
import { parse } from "yaml";

const root = resolve(import.meta.dirname, "../..");
const prometheusDir = join(root, "deploy", "prometheus");
const dashboardsDir = join(root, "deploy", "grafana", "dashboards");

/** Runs promtool; fails with what to install when it is missing. */
function promtool(...args: string[]): string {
  const run = spawnSync("promtool", args, { cwd: root, encoding: "utf8" });
  if (run.error && (run.error as NodeJS.ErrnoException).code === "ENOENT") {
    assert.fail("promtool is not installed: install Prometheus' promtool (Debian: apt-get install prometheus; .ci/run installs it)");
  }
  assert.equal(run.status, 0, `promtool ${args.join(" ")} failed:\n${run.stdout}${run.stderr}`);
  return run.stdout + run.stderr;
}

interface AlertRule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: AlertRule[] }[];
}
interface RuleTestFile {
  rule_files: string[];
  tests: { alert_rule_test?: { alertname: string; eval_time: string; exp_alerts?: unknown[] }[] }[];
}

const readYaml = <T>(file: string): T => parse(readFileSync(file, "utf8")) as T;
const prometheusConfig = readYaml<{ rule_files: string[] }>(join(prometheusDir, "prometheus.yml"));
const ruleFiles = prometheusConfig.rule_files.map((file) => join(prometheusDir, file));
const rules = ruleFiles.flatMap((file) => readYaml<RuleFile>(file).groups.flatMap((group) => group.rules));
const alerts = rules.filter((rule) => rule.alert !== undefined);
const ruleTestFiles = readdirSync(prometheusDir)
  .filter((file) => file.endsWith(".test.yml"))
  .map((file) => join(prometheusDir, file));

/** Metric names that Prometheus makes itself for every scrape target. */
const scrapeMetrics = new Set(["up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_samples_post_metric_relabeling", "scrape_series_added"]);

/** The relay's metrics (as its /metrics exposes them), each with its series names: a histogram's _bucket, _sum and _count. */
async function relayMetrics(): Promise<Map<string, string[]>> {
  const metrics = new RelayMetrics();
  const series = new Map<string, string[]>();
  for (const metric of await metrics.registry.getMetricsAsJSON()) {
    const type = String(metric.type);
    const suffixes = type === "histogram" ? ["_bucket", "_sum", "_count"] : type === "summary" ? ["", "_sum", "_count"] : [""];
    series.set(
      metric.name,
      suffixes.map((suffix) => metric.name + suffix),
    );
  }
  return series;
}

async function exportedNames(): Promise<Set<string>> {
  return new Set([...(await relayMetrics()).values()].flat());
}

const keywords = new Set(["and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "inf", "nan", "atan2"]);

/**
 * The metric names a PromQL expression selects: identifiers that are not functions, keywords, label
 * names (in matchers or grouping clauses) or durations. Grafana's $variables are dropped as well.
 */
export function metricNames(expr: string): Set<string> {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, " ") // strings
    .replace(/#.*$/gm, " ") // comments
    .replace(/\{[^}]*\}/g, " ") // label matchers
    .replace(/\[[^\]]*\]/g, " ") // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ") // grouping labels
    .replace(/\$\{?\w+\}?/g, " "); // Grafana variables
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const name = match[0];
    const before = stripped.slice(0, match.index);
    const after = stripped.slice(match.index + name.length);
    if (/^\s*\(/.test(after) || keywords.has(name.toLowerCase())) continue; // a function or an operator
    if (/\d$/.test(before) || /\d[a-z]*$/i.test(before)) continue; // a duration or number's unit (5m, 1e3)
    names.add(name);
  }
  return names;
}

interface Panel {
  title?: string;
  type?: string;
  targets?: { expr?: string; refId?: string; datasource?: { type?: string; uid?: string } }[];
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating?: { list?: { name: string; query?: string | { query?: string } }[] };
}

const dashboardFiles = readdirSync(dashboardsDir)
  .filter((file) => file.endsWith(".json"))
  .map((file) => join(dashboardsDir, file));

/** Every PromQL expression of a dashboard (panel targets and query variables), with where it is. */
function dashboardQueries(dashboard: Dashboard): { where: string; expr: string }[] {
  const queries: { where: string; expr: string }[] = [];
  const walk = (panels: Panel[]) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        if (target.expr !== undefined && target.datasource?.type !== "grafana-pyroscope-datasource") {
          queries.push({ where: `panel "${panel.title}" ${target.refId ?? ""}`, expr: target.expr });
        }
      }
      walk(panel.panels ?? []);
    }
  };
  walk(dashboard.panels);
  for (const variable of dashboard.templating?.list ?? []) {
    const query = typeof variable.query === "string" ? variable.query : variable.query?.query;
    // label_values(metric, label): the metric is the first argument.
    const labelValues = /^label_values\(\s*(.*?)\s*,\s*\w+\s*\)$/.exec(query ?? "");
    if (labelValues?.[1]) queries.push({ where: `variable ${variable.name}`, expr: labelValues[1] });
  }
  return queries;
}

describe("deploy: metric names in queries", () => {
  test("metricNames finds the selected metrics and nothing else", () => {
    assert.deepEqual(
      [...metricNames('sum by (target, le) (rate(pyroscope_write_latency_bucket{type="ingest", endpoint=~"$endpoint"}[$__rate_interval])) > 0.5 * 1e3')],
      ["pyroscope_write_latency_bucket"],
    );
    assert.deepEqual(
      [...metricNames("max without (instance) (a_total offset 5m) / on (target) group_left (endpoint) b unless c[5m:1m]")],
      ["a_total", "b", "c"],
    );
  });
});

describe("deploy: Prometheus", () => {
  test("promtool check config: prometheus.yml and the rule files it loads", () => {
    promtool("check", "config", relative(root, join(prometheusDir, "prometheus.yml")));
  });

  test("promtool check rules", () => {
    promtool("check", "rules", ...ruleFiles.map((file) => relative(root, file)));
  });

  test("promtool test rules: every alert's unit tests pass", () => {
    assert.ok(ruleTestFiles.length > 0, "no deploy/prometheus/*.test.yml");
    // promtool resolves a test file's rule_files against the test file's directory.
    promtool("test", "rules", ...ruleTestFiles.map((file) => relative(root, file)));
  });

  test("every rule file is loaded by prometheus.yml and unit-tested", () => {
    const loaded = new Set(ruleFiles);
    const tested = new Set(ruleTestFiles.flatMap((file) => readYaml<RuleTestFile>(file).rule_files.map((rules) => join(prometheusDir, rules))));
    for (const file of readdirSync(prometheusDir).filter((f) => /\.ya?ml$/.test(f) && !f.endsWith(".test.yml") && f !== "prometheus.yml")) {
      assert.ok(loaded.has(join(prometheusDir, file)), `${file} is not in prometheus.yml's rule_files`);
      assert.ok(tested.has(join(prometheusDir, file)), `${file} is in no *.test.yml's rule_files`);
    }
  });

  test("each alert has a severity, a summary and a description", () => {
    assert.ok(alerts.length > 0, "no alert rules");
    for (const rule of alerts) {
      assert.match(rule.labels?.severity ?? "", /^(critical|warning|info)$/, `${rule.alert}: severity label`);
      assert.ok((rule.annotations?.summary ?? "").trim() !== "", `${rule.alert}: summary annotation`);
      assert.ok((rule.annotations?.description ?? "").trim() !== "", `${rule.alert}: description annotation`);
    }
  });

  test("each alert has a unit test where it fires and one where it does not", () => {
    const cases = ruleTestFiles.flatMap((file) => readYaml<RuleTestFile>(file).tests.flatMap((t) => t.alert_rule_test ?? []));
    for (const rule of alerts) {
      const mine = cases.filter((c) => c.alertname === rule.alert);
      assert.ok(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${rule.alert}: no test in which it fires`,
      );
      assert.ok(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${rule.alert}: no test in which it stays silent`,
      );
    }
  });

  test("alert rules use only metrics the relay exports", async () => {
    const exported = await exportedNames();
    for (const rule of rules) {
      for (const name of metricNames(rule.expr)) {
        assert.ok(exported.has(name) || scrapeMetrics.has(name), `${rule.alert ?? rule.record}: ${name} is not a metric of the relay`);
      }
    }
  });
});

describe("deploy: Grafana dashboard", () => {
  test("dashboards parse and have a uid, a title and panels", () => {
    assert.ok(dashboardFiles.length > 0, "no dashboard in deploy/grafana/dashboards");
    for (const file of dashboardFiles) {
      const dashboard = JSON.parse(readFileSync(file, "utf8")) as Dashboard;
      assert.ok(dashboard.uid && dashboard.title, `${file}: uid and title`);
      assert.ok(dashboard.panels.length > 0, `${file}: no panels`);
    }
  });

  test("dashboard queries use only metrics the relay exports", async () => {
    const exported = await exportedNames();
    for (const file of dashboardFiles) {
      const queries = dashboardQueries(JSON.parse(readFileSync(file, "utf8")) as Dashboard);
      assert.ok(queries.length > 0, `${file}: no PromQL queries`);
      for (const { where, expr } of queries) {
        assert.ok(metricNames(expr).size > 0, `${where}: selects no metric: ${expr}`);
        for (const name of metricNames(expr)) {
          assert.ok(exported.has(name) || scrapeMetrics.has(name), `${relative(root, file)} ${where}: ${name} is not a metric of the relay`);
        }
      }
    }
  });

  test("the dashboard shows every metric of the relay's own (pyroscope_*)", async () => {
    const shown = new Set(
      dashboardFiles.flatMap((file) => dashboardQueries(JSON.parse(readFileSync(file, "utf8")) as Dashboard).flatMap(({ expr }) => [...metricNames(expr)])),
    );
    for (const [name, series] of await relayMetrics()) {
      if (!name.startsWith("pyroscope_")) continue;
      assert.ok(
        series.some((s) => shown.has(s)),
        `no dashboard panel shows ${name}: add one to deploy/grafana/dashboards/`,
      );
    }
  });
});
