// Fails when a workspace imports a package its package.json does not declare, when its shipped code
// imports one declared only for development (the image installs production dependencies only), or
// when it declares a package nothing of it imports.
//   node tools/check-dependencies.mjs
import { readdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, relative } from "node:path";
import ts from "typescript";

const root = new URL("..", import.meta.url).pathname;

/** Files the import scan reads in a workspace: sources, tests, scripts; never build output or installs. */
const scanned = /\.(?:ts|tsx|mts|js|mjs)$/;
const skippedDirs = new Set(["node_modules", "dist"]);

/**
 * Code that only tests run (its imports may be development dependencies): the files each project's
 * tsconfig.spec.json type-checks and its tsconfig.lib.json leaves out of dist, and test/.
 */
const testCode = /(?:\.test\.|\.spec\.|-harness\.|-fixture\.|(?:^|\/)test-[\w-]+\.)|^(?:e2e|faults|soak|bench|deploy)\//;

/**
 * Declared on purpose without an import: type packages, tools a workspace runs from its scripts, and
 * a command the workspace runs as a program (the black-box tests run the built relay).
 */
const usedWithoutImport = (name, manifest, sources) =>
  name.startsWith("@types/") ||
  Object.values(manifest.scripts ?? {}).some((script) => new RegExp(`(?:^|[\\s/])${escapeRegExp(toolOf(name))}(?:\\s|$)`).test(script)) ||
  (programs.has(name) && sources.some((text) => text.includes(programs.get(name))));

/** Workspaces that are commands, by package name: the directory their programs are run from. */
const programs = new Map();

const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The command a package installs, as scripts call it: its unscoped name. */
function toolOf(name) {
  return name.replace(/^@[^/]+\//, "");
}

function workspaces() {
  const { workspaces: globs } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  return globs.flatMap((glob) => {
    if (!glob.endsWith("/*")) return [glob];
    const parent = glob.slice(0, -2);
    return readdirSync(join(root, parent))
      .map((name) => join(parent, name))
      .filter((dir) => statSync(join(root, dir)).isDirectory());
  });
}

function* files(dir, base = dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!skippedDirs.has(entry.name) && !entry.name.startsWith(".")) yield* files(join(dir, entry.name), base);
    } else if (scanned.test(entry.name) && !entry.name.endsWith(".d.ts")) {
      yield relative(base, join(dir, entry.name));
    }
  }
}

/** Package names a file imports, re-exports, loads dynamically or requires, as TypeScript reads them. */
function importsOf(text) {
  const names = new Set();
  for (const { fileName: specifier } of ts.preProcessFile(text, true, true).importedFiles) {
    if (builtins.has(specifier) || specifier.startsWith("node:") || specifier.startsWith(".") || specifier.startsWith("/")) continue;
    const parts = specifier.split("/");
    names.add(specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]);
  }
  return names;
}

for (const workspace of workspaces()) {
  const manifest = JSON.parse(readFileSync(join(root, workspace, "package.json"), "utf8"));
  if (manifest.bin !== undefined) programs.set(manifest.name, `${workspace}/`);
}

const problems = [];
for (const workspace of workspaces()) {
  const dir = join(root, workspace);
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const runtime = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {})]);
  const development = new Set(Object.keys(manifest.devDependencies ?? {}));
  const used = new Set();
  const sources = [];
  for (const file of files(dir)) {
    const shipped = !testCode.test(file);
    const text = readFileSync(join(dir, file), "utf8");
    sources.push(text);
    for (const name of importsOf(text)) {
      used.add(name);
      if (name === manifest.name) continue;
      if (!runtime.has(name) && !development.has(name)) problems.push(`${workspace}/${file} imports ${name}, which ${workspace}/package.json does not declare`);
      else if (shipped && !runtime.has(name))
        problems.push(`${workspace}/${file} imports ${name}, declared only in devDependencies of ${workspace}/package.json`);
    }
  }
  for (const name of [...runtime, ...development]) {
    if (!used.has(name) && !usedWithoutImport(name, manifest, sources))
      problems.push(`${workspace}/package.json declares ${name}, which nothing in ${workspace} imports`);
  }
}

if (problems.length > 0) {
  console.error(`dependency problems:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`dependencies: ${workspaces().length} workspaces, every import declared, every declaration used`);
