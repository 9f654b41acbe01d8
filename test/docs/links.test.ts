// The project's own documentation links to itself (the README to docs/, docs/ back to the README's
// sections): every relative link must name a file that exists and, with a #fragment, a heading of
// that file, so that moving or renaming a section cannot leave readers at a dead link.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";

const root = resolve(import.meta.dirname, "../..");
const documents = [
  "README.md",
  ...readdirSync(join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => join("docs", name)),
];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of withoutCode(markdown)) {
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading === null) continue;
    const slug = heading[1]!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const repeats = seen.get(slug) ?? 0;
    seen.set(slug, repeats + 1);
    anchors.add(repeats === 0 ? slug : `${slug}-${repeats}`);
  }
  return anchors;
}

/** The lines outside fenced code blocks. */
function withoutCode(markdown: string): string[] {
  let fenced = false;
  return markdown.split("\n").filter((line) => {
    if (line.startsWith("```")) fenced = !fenced;
    return !fenced && !line.startsWith("```");
  });
}

/** Relative links (`[text](target)`) outside code, with the line they are on; URLs left out. */
function relativeLinks(markdown: string): { target: string; line: number }[] {
  const links: { target: string; line: number }[] = [];
  const lines = markdown.split("\n");
  let fenced = false;
  // Only `](target)` is matched: a link's text may break across lines, its target cannot.
  lines.forEach((line, index) => {
    if (line.startsWith("```")) fenced = !fenced;
    if (fenced) return;
    for (const match of line.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = match[1]!;
      if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) links.push({ target, line: index + 1 });
    }
  });
  return links;
}

test("every relative link in the README and docs/ names an existing file and heading", () => {
  const dead: string[] = [];
  for (const document of documents) {
    const text = readFileSync(join(root, document), "utf8");
    for (const { target, line } of relativeLinks(text)) {
      const [path, fragment] = target.split("#", 2) as [string, string | undefined];
      const file = path === "" ? join(root, document) : resolve(root, dirname(document), path);
      const where = `${document}:${line}: (${target})`;
      if (!existsSync(file)) {
        dead.push(`${where} names ${relative(root, file)}, which does not exist`);
        continue;
      }
      if (fragment === undefined || !file.endsWith(".md")) continue;
      if (!anchorsOf(readFileSync(file, "utf8")).has(fragment)) dead.push(`${where} names no heading of ${relative(root, file)}`);
    }
  }
  assert.deepEqual(dead, []);
});

test("the anchors follow GitHub's rules, so that a dead link is told from a live one", () => {
  const anchors = anchorsOf("# Beyond one Redis: Redis Cluster\n## A MULTI without ioredis' Pipeline\n## Notes\n## Notes\n```\n# not a heading\n```\n");
  assert.deepEqual([...anchors], ["beyond-one-redis-redis-cluster", "a-multi-without-ioredis-pipeline", "notes", "notes-1"]);
  assert.deepEqual(
    relativeLinks("see [a](docs/a.md#x) and [b](https://example.com)\n```\n[c](nowhere.md)\n```\n[d](#y)").map((link) => link.target),
    ["docs/a.md#x", "#y"],
  );
});
