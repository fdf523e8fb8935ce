// The package's modules import each other in one direction only: no cycle between files of src/,
// nor between its folders, type imports included. A cycle is how a catch-all context creeps back
// (a stage that reaches its neighbours through the whole), so a new one fails here, naming it.
// And nothing outside tests/ imports from it: what the benchmark shares with the tests is in
// tools/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { repoRoot } from "../_repo.ts";

/** Every `.ts` file under `dir`, relative to the repository root. */
async function sources(root: URL, dir: string): Promise<string[]> {
  const entries = await readdir(new URL(dir, root), { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) =>
      e.isDirectory()
        ? sources(root, `${dir}${e.name}/`)
        : Promise.resolve(e.name.endsWith(".ts") ? [`${dir}${e.name}`] : [])
    ),
  );
  return nested.flat();
}

/** Relative specifiers of `text`'s static imports and re-exports, `import type` included. */
function relativeImports(text: string): string[] {
  const found = text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"(\.{1,2}\/[^"]+)"/gms);
  return [...found].map((m) => m[1]);
}

/** The strongly connected components of more than one node (or a node importing itself). */
function cycles(graph: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || graph.get(v)?.has(v)) out.push(component.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

/** `src/a/b.ts` -> `src/a`; a file at src/'s root is its own folder. */
const folderOf = (file: string) => file.split("/").slice(0, 2).join("/").replace(/\.ts$/, "");

test("src/ has no import cycle between files or folders, type imports included", async () => {
  const root = repoRoot();
  const files = await sources(root, "src/");
  assert.ok(files.length > 40, `found only ${files.length} files under src/`);
  const fileGraph = new Map<string, Set<string>>();
  const folderGraph = new Map<string, Set<string>>();
  for (const file of files) {
    const text = await readFile(new URL(file, root), "utf8");
    const targets = relativeImports(text)
      .map((s) => new URL(s, new URL(file, root)).href.slice(root.href.length))
      .filter((t) => t.startsWith("src/"));
    fileGraph.set(file, new Set(targets));
    const from = folderOf(file);
    const folders = folderGraph.get(from) ?? new Set();
    for (const t of targets) if (folderOf(t) !== from) folders.add(folderOf(t));
    folderGraph.set(from, folders);
  }
  assert.deepEqual(cycles(fileGraph), [], "files importing each other in a loop");
  assert.deepEqual(cycles(folderGraph), [], "folders importing each other in a loop");
});

test("bench/, examples/, scripts/ and tools/ import nothing from tests/", async () => {
  const root = repoRoot();
  const found: string[] = [];
  for (const dir of ["bench/", "examples/", "scripts/", "tools/"]) {
    for (const file of await sources(root, dir)) {
      const text = await readFile(new URL(file, root), "utf8");
      for (const specifier of relativeImports(text)) {
        const target = new URL(specifier, new URL(file, root)).href.slice(root.href.length);
        if (target.startsWith("tests/")) found.push(`${file} imports ${target}`);
      }
    }
  }
  assert.deepEqual(found, [], "move what they share with the tests to tools/");
});

test("the cycle finder finds a cycle", () => {
  const graph = new Map([["a", new Set(["b"])], ["b", new Set(["c"])], ["c", new Set(["a"])]]);
  assert.deepEqual(cycles(graph), [["a", "b", "c"]]);
  assert.deepEqual(
    relativeImports('import type { X } from "./x.ts";\nexport { y } from "../y.ts";'),
    [
      "./x.ts",
      "../y.ts",
    ],
  );
});
