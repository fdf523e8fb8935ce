// The test files, as every runner finds them: each `*_test.ts` under tests/, in any folder. Deno
// runs them through tests/all.ts (one isolate), Node the npm build's compiled copies, Bun the
// sources, the browser those tests/browser/in_page.ts imports; tests/package/test_lists_test.ts
// checks that tests/all.ts and the browser's list name every one.
import { readdir } from "node:fs/promises";
import { join } from "node:path";

/**
 * Every `*_test.ts` file under `tests/` of the repository at `root` (default: the working
 * directory), as paths from the repository root (`tests/step/clipping_test.ts`), sorted.
 */
export async function testFiles(root = "."): Promise<string[]> {
  const entries = await readdir(join(root, "tests"), { recursive: true });
  return entries
    .map((path) => `tests/${path.replaceAll("\\", "/")}`)
    .filter((path) => path.endsWith("_test.ts"))
    .sort();
}
