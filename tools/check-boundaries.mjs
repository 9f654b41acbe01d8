// Fails when a project imports across a forbidden boundary. Nx infers the import edges (from
// package.json and source imports); each project's tags in its package.json say what it is.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Which `type:` (or `scope:`) tags a project with the given tag may depend on. */
const allowed = {
  "type:util": [],
  "type:domain": ["type:domain"],
  "type:data": ["type:domain", "type:data"],
  "type:feature": ["type:domain", "type:data"],
  "type:testing": ["type:domain", "type:util"],
  "scope:app": ["type:domain", "type:data", "type:feature", "type:util"],
  "scope:test": ["type:domain", "type:data", "type:feature", "type:testing", "type:util", "scope:app"],
};

const dir = mkdtempSync(join(tmpdir(), "nx-graph-"));
let graph;
try {
  execFileSync("nx", ["graph", `--file=${join(dir, "graph.json")}`], { stdio: "ignore", env: { ...process.env, NX_DAEMON: "false" } });
  graph = JSON.parse(readFileSync(join(dir, "graph.json"), "utf8")).graph;
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const kindOf = (name) => {
  const tags = graph.nodes[name]?.data.tags ?? [];
  return tags.find((t) => t.startsWith("type:")) ?? tags.find((t) => t.startsWith("scope:"));
};
const devDependencies = (name) => {
  const pkg = JSON.parse(readFileSync(join(graph.nodes[name].data.root, "package.json"), "utf8"));
  return Object.keys(pkg.devDependencies ?? {});
};

const problems = [];
for (const [source, edges] of Object.entries(graph.dependencies)) {
  if (!graph.nodes[source]) continue;
  const kind = kindOf(source);
  if (kind === undefined) {
    problems.push(`${source} has no type: or scope: tag`);
    continue;
  }
  for (const { target } of edges) {
    if (!graph.nodes[target]) continue;
    const targetKind = kindOf(target);
    // Test helpers are fine in any project's own tests, declared as a devDependency.
    if (targetKind === "type:testing" && devDependencies(source).includes(target)) continue;
    if (!allowed[kind]?.includes(targetKind)) {
      problems.push(`${source} (${kind}) must not depend on ${target} (${targetKind})`);
    }
  }
}
if (problems.length > 0) {
  console.error(`module boundary violations:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`module boundaries: ${Object.keys(graph.nodes).length} projects, no violations`);
