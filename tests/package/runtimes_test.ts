// The same steps give the same numbers on Deno, Node (the npm build) and Bun. Run from Deno: it
// computes the steps here, then runs one_step_main.ts (beside this file) under Node and Bun and
// compares (after checking that the steps moved the variables).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { initialValues, oneStepResults, SEED } from "./one_step_main.ts";
import { withDevice } from "../_gpu.ts";
import { repoRoot } from "../_repo.ts";
import { assertMoved } from "../_moved.ts";
import { rng } from "../_reference.ts";

const isDeno = "Deno" in globalThis;

function runOther(command: string, script: string): Record<string, number[]> {
  const root = fileURLToPath(repoRoot());
  const result = spawnSync(command, [script], { cwd: root, encoding: "utf8" });
  assert.equal(result.status, 0, `${command} ${script} failed:\n${result.stderr}`);
  return JSON.parse(result.stdout.trim().split("\n").at(-1)!);
}

test("one set of steps gives the same numbers on Deno, Node and Bun", {
  skip: isDeno ? false : "run from the Deno suite, which starts Node and Bun itself",
}, async () => {
  const root = fileURLToPath(repoRoot());
  const built = `${root}npm/.test/tests/package/one_step_main.js`;
  assert.ok(existsSync(built), "no npm build: run `deno task build:npm --no-checks` first");
  const here = await withDevice((device) => oneStepResults(device));
  // The steps moved the variables: runtimes that all did nothing would agree too.
  for (const [name, init] of Object.entries(initialValues(rng(SEED)))) {
    assertMoved(here[name], init, name);
  }
  const others = {
    node: runOther("node", built),
    bun: runOther(`${root}node_modules/bun/bin/bun.exe`, "tests/package/one_step_main.ts"),
  };
  for (const [runtime, result] of Object.entries(others)) {
    assert.deepEqual(Object.keys(result), Object.keys(here), runtime);
    for (const [name, values] of Object.entries(here)) {
      const other = result[name];
      assert.equal(other.length, values.length, `${runtime} ${name}`);
      // Different shader compilers (naga for Deno, Tint for Dawn) may round differently.
      for (let i = 0; i < values.length; i++) {
        const tol = 1e-6 * Math.max(1, Math.abs(values[i]));
        assert.ok(
          Math.abs(other[i] - values[i]) <= tol,
          `${runtime} ${name}[${i}]: ${other[i]} vs Deno's ${values[i]}`,
        );
      }
    }
  }
});
