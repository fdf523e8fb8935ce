// The repository root, found from any copy of the tests: the sources under tests/, or the compiled
// copy the npm build runs under Node (npm/.test/tests/).
import { existsSync } from "node:fs";

/** The nearest folder above this file holding deno.json, as a URL ending in "/". */
export function repoRoot(): URL {
  let dir = new URL("./", import.meta.url);
  while (!existsSync(new URL("deno.json", dir))) {
    const parent = new URL("../", dir);
    if (parent.href === dir.href) throw new Error("tests: no deno.json above " + import.meta.url);
    dir = parent;
  }
  return dir;
}
