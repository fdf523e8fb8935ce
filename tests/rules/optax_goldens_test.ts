// Adagrad.optax against optax's own numbers: five multi-step runs computed by optax 0.2.8 on JAX
// 0.10.2 in float32 (tests/rules/optax_adagrad_goldens.json, from the project's reference
// folder): dense gradients, accumulators that start at 0 (optax's `sum > 0` guard), a large eps,
// and IndexedSlices with duplicate ids (optax was given the dense sum, zeros elsewhere).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { Adagrad, type GradientPair, IndexedSlices, VariableStore } from "../../mod.ts";
import { withDevice } from "../_gpu.ts";
import { assertAllClose } from "../_reference.ts";
import { repoRoot } from "../_repo.ts";

type Grad = { dense: number[] } | { indices: number[]; values: number[] };

interface Case {
  name: string;
  opts: { learning_rate: number; initial_accumulator_value?: number; eps?: number };
  shapes: number[][];
  steps: number;
  init: number[][];
  grads: Grad[][];
  after: number[][];
  sum_of_squares: number[][];
}

const goldens = JSON.parse(
  await readFile(new URL("tests/rules/optax_adagrad_goldens.json", repoRoot()), "utf8"),
) as { generator: string; cases: Case[] };

for (const c of goldens.cases) {
  test(`Adagrad.optax matches ${goldens.generator}: ${c.name} ${JSON.stringify(c.opts)}`, async () => {
    await withDevice(async (device, own) => {
      const store = own(new VariableStore(device));
      const variables = c.shapes.map((shape, i) =>
        store.variable(`v${i}`, shape, new Float32Array(c.init[i]))
      );
      const opt = own(Adagrad.optax({
        learningRate: c.opts.learning_rate,
        initialAccumulatorValue: c.opts.initial_accumulator_value,
        eps: c.opts.eps,
      }));
      assert.equal(c.grads.length, c.steps);
      let sparse = 0;
      for (const grads of c.grads) {
        const pairs: GradientPair[] = grads.map((g, i) => {
          if ("dense" in g) return [new Float32Array(g.dense), variables[i]];
          sparse++;
          const slices = new IndexedSlices(
            new Float32Array(g.values),
            new Int32Array(g.indices),
            c.shapes[i],
          );
          return [slices, variables[i]];
        });
        await opt.applyGradients(pairs);
      }
      assert.equal(sparse > 0, c.name.includes("sparse"), "the sparse cases give IndexedSlices");
      for (const [i, v] of variables.entries()) {
        const weights = await v.read();
        // The step moved the weights: no case passes with a step that does nothing.
        assert.ok(weights.some((w, k) => w !== Math.fround(c.init[i][k])), `v${i} moved`);
        assertAllClose(weights, c.after[i], `${c.name} v${i}`, 2e-6, 2e-6);
        const sums = await opt.getSlot(v, "sum_of_squares").read();
        assertAllClose(sums, c.sum_of_squares[i], `${c.name} v${i} sum_of_squares`, 2e-6, 1e-7);
      }
    });
  });
}

test("Adagrad.optax: an element whose sum of squares is still 0 does not move, even with eps 0", async () => {
  await withDevice(async (device, own) => {
    const store = own(new VariableStore(device));
    const init = new Float32Array([0.5, -1.25, 2, 0.75, -0.3]);
    const w = store.variable("w", [5], init);
    const opt = own(Adagrad.optax({ learningRate: 0.5, initialAccumulatorValue: 0, eps: 0 }));
    const g = new Float32Array([0.4, 0, -0.2, 0, 1.5]);
    await opt.applyGradients([[g, w]]);
    // optax: sum = g^2; update = -lr * g * rsqrt(sum) where sum > 0, else 0.
    const expected = [...init].map((x, i) => g[i] === 0 ? x : x - 0.5 * Math.sign(g[i]));
    assertAllClose(await w.read(), expected, "w", 1e-6, 1e-7);
    assert.ok((await w.read()).every(Number.isFinite));
  });
});
