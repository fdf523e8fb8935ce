// Every test file runs everywhere it should: each `*_test.ts` under tests/ (scripts/_test_files.ts
// finds them for Node and Bun) is imported by tests/all.ts, the Deno suite's one entry, and by the
// browser's in-page suite (tests/browser/in_page.ts) unless tests/browser/not_in_page.ts says why
// not; a test file lives in a folder by concern, not at the top of tests/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { testFiles } from "../../scripts/_test_files.ts";
import { NOT_IN_PAGE } from "../browser/not_in_page.ts";
import { repoRoot } from "../_repo.ts";

const root = repoRoot();

/** The test files a module imports (`import "<relative>_test.ts";`), as paths from the root. */
async function importedTests(path: string): Promise<string[]> {
  const file = new URL(path, root);
  const source = await readFile(file, "utf8");
  return [...source.matchAll(/^import "(\.{1,2}\/[\w/]+_test\.ts)";$/gm)]
    .map((m) => new URL(m[1], file).href.slice(root.href.length))
    .sort();
}

test("tests/all.ts imports every *_test.ts under tests/, and nothing else", async () => {
  const files = await testFiles(fileURLToPath(root));
  assert.ok(files.length > 40, `only ${files.length} test files found`);
  const imported = await importedTests("tests/all.ts");
  const missing = files.filter((f) => !imported.includes(f));
  const extra = imported.filter((f) => !files.includes(f));
  assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, "tests/all.ts: add or remove");
});

test("a test file lives in a folder by concern, not at the top of tests/", async () => {
  const top = (await testFiles(fileURLToPath(root))).filter((f) => !f.slice(6).includes("/"));
  assert.deepEqual(top, [], "move these into the folder of their concern (docs/development.md)");
});

test("the in-page suite imports every test file but those not_in_page.ts names, with a reason", async () => {
  const files = await testFiles(fileURLToPath(root));
  const inPage = await importedTests("tests/browser/in_page.ts");
  const left = Object.keys(NOT_IN_PAGE).sort();
  const both = inPage.filter((f) => left.includes(f));
  assert.deepEqual(both, [], "imported by in_page.ts and named in not_in_page.ts");
  const listed = [...inPage, ...left];
  const neither = files.filter((f) => !listed.includes(f));
  const unknown = listed.filter((f) => !files.includes(f));
  assert.deepEqual(
    { neither, unknown },
    { neither: [], unknown: [] },
    "import each test file into tests/browser/in_page.ts, or name it in not_in_page.ts with why",
  );
  for (const [file, why] of Object.entries(NOT_IN_PAGE)) assert.ok(why.length > 10, file);
});
