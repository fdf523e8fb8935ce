// What a step costs on the GPU side: after the first step (which creates the slots), a step
// creates no GPU object at all, submits once, and dispatches once per arena, whatever the number
// of variables. Counted by wrapping the device's own methods, not by asking the optimizer.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Adagrad,
  type AdagradBase,
  AdagradDA,
  type GradientPair,
  IndexedSlices,
  ProximalAdagrad,
  RowWiseAdagrad,
  VariableStore,
} from "../../mod.ts";
import { counting, type Counts, reset } from "../../tools/_counting.ts";
import { withDevice } from "../_gpu.ts";
import { randomValues, rng } from "../_reference.ts";
import { skippingVariables } from "../_console.ts";

for (const variables of [10, 100, 1000]) {
  test(`${variables} variables: one submit, one dispatch, no GPU allocation per step`, async () => {
    await withDevice((device) =>
      counting(device, async (counts) => {
        const random = rng(variables);
        const store = new VariableStore(device);
        const vars = Array.from(
          { length: variables },
          (_, i) => store.variable(`v${i}`, [1 + Math.floor(random() * 5000)], 0.5),
        );
        const opt = new Adagrad({ learningRate: 0.01 });
        const pairs = (skip: number): GradientPair[] =>
          vars.map((v, i) => [i % 7 === skip ? null : v.grad, v]);
        await opt.applyGradients(pairs(-1)); // creates the slots
        for (let step = 0; step < 12; step++) {
          reset(counts);
          // The set of variables with gradients changes every step (a different seventh skipped).
          await skippingVariables(() => opt.applyGradients(pairs(step % 7)));
          assert.deepEqual(counts.created, {}, `step ${step} created GPU objects`);
          assert.equal(counts.submits, 1, "submits per step");
          assert.equal(counts.dispatches, store.arenaCount, "dispatches per step");
        }
        assert.equal(store.arenaCount, 1);
        // Gradients uploaded from the CPU cost no GPU allocation either.
        reset(counts);
        await opt.applyGradients(vars.map((v) => [randomValues(random, v.length), v]));
        assert.deepEqual(counts.created, {});
        assert.equal(counts.dispatches, 1);
        opt.destroy();
        store.destroy();
      })
    );
  });
}

test("dispatches per step follow the number of arenas, not of variables", async () => {
  await withDevice((device) =>
    counting(device, async (counts) => {
      const store = new VariableStore(device, { maxArenaBytes: 64 * 1024 });
      const vars = Array.from({ length: 200 }, (_, i) => store.variable(`v${i}`, [1000], 1));
      const opt = new Adagrad();
      await opt.applyGradients(vars.map((v) => [v.grad, v]));
      reset(counts);
      await opt.applyGradients(vars.map((v) => [v.grad, v]));
      assert.equal(store.arenaCount, Math.ceil(200 / 16)); // 16 variables of 4000 B per 64 KiB
      assert.equal(counts.dispatches, store.arenaCount);
      assert.equal(counts.submits, 1);
      // Variables of only the first arena: one dispatch.
      reset(counts);
      await opt.applyGradients(vars.slice(0, 16).map((v) => [v.grad, v]));
      assert.equal(counts.dispatches, 1);
      opt.destroy();
      store.destroy();
    })
  );
});

test("optimizers after the first compile nothing: pipelines are cached per device", async () => {
  await withDevice((device, own) =>
    counting(device, async (counts) => {
      const store = new VariableStore(device);
      const v = store.variable("v", [10], 1);
      // The shared test device may already hold the pipeline; at most one is ever compiled.
      await own(new Adagrad()).applyGradients([[v.grad, v]]);
      assert.ok((counts.created.createComputePipeline ?? 0) <= 1);
      reset(counts);
      for (let i = 0; i < 3; i++) await own(new Adagrad()).applyGradients([[v.grad, v]]);
      assert.equal(counts.created.createComputePipeline, undefined);
      assert.equal(counts.created.createShaderModule, undefined);
      assert.equal(counts.created.createBindGroupLayout, undefined);
      store.destroy();
    })
  );
});

/**
 * Steps of `make()` over 10, 100 and 1,000 store variables, a different fifth of them without a
 * gradient each step: one submit, no GPU object made, and `dispatches(store)` dispatches.
 */
async function checkStepCost(
  device: GPUDevice,
  counts: Counts,
  make: () => AdagradBase<object>,
  dispatches: (store: VariableStore) => number,
): Promise<void> {
  for (const variables of [10, 100, 1000]) {
    const store = new VariableStore(device);
    const vars = Array.from(
      { length: variables },
      (_, i) => store.variable(`v${i}`, [1 + (i * 97) % 3000], 0.5),
    );
    const opt = make();
    const pairs = (skip: number): GradientPair[] =>
      vars.map((v, i) => [i % 5 === skip ? null : v.grad, v]);
    await opt.applyGradients(pairs(-1));
    for (let step = 0; step < 6; step++) {
      reset(counts);
      await skippingVariables(() => opt.applyGradients(pairs(step % 5)));
      assert.deepEqual(
        counts.created,
        {},
        `${variables} variables, step ${step}: created GPU objects`,
      );
      assert.equal(counts.submits, 1);
      assert.equal(counts.dispatches, dispatches(store), `${variables} variables`);
    }
    opt.destroy();
    store.destroy();
  }
}

for (
  const clip of [{ clipnorm: 1 }, { globalClipnorm: 1 }, { clipvalue: 0.5 }, {
    skipNonFinite: true,
  }]
) {
  test(`with ${Object.keys(clip)[0]}: dispatches per step do not grow with the variables`, async () => {
    await withDevice((device) =>
      counting(device, async (counts) => {
        // Norm clipping: sums of squares + norms + update; clipvalue alone: the update only; the
        // non-finite guard: check + verdict + update.
        const expected = "clipvalue" in clip ? 1 : 3;
        await checkStepCost(device, counts, () =>
          new Adagrad({ learningRate: 0.01, ...clip }), () =>
          expected);
      })
    );
  });
}

const SPARSE_MAKERS: [string, () => AdagradBase<object>][] = [
  ["Adagrad", () => new Adagrad({ learningRate: 0.01 })],
  [
    "ProximalAdagrad",
    () => new ProximalAdagrad({ learningRate: 0.01, l1RegularizationStrength: 0.1 }),
  ],
  ["AdagradDA", () => new AdagradDA({ learningRate: 0.01, l1RegularizationStrength: 0.1 })],
  ["RowWiseAdagrad, FBGEMM's options", () => new RowWiseAdagrad({ weightDecay: 0.1, maxNorm: 1 })],
];

for (const [label, make] of SPARSE_MAKERS) {
  test(`sparse steps (${label}): nothing allocated once sized; dispatches independent of the variables`, async () => {
    await withDevice((device) =>
      counting(device, async (counts) => {
        const random = rng(4);
        const dispatches: number[] = [];
        for (const tables of [1, 4, 20]) {
          const store = new VariableStore(device);
          const vars = Array.from(
            { length: tables },
            (_, i) => store.variable(`t${i}`, [1000, 16], 1),
          );
          const opt = make();
          // 2,000 indices in all, split across the tables, fresh every step.
          const pairs = (): GradientPair[] =>
            vars.map((v, i) => {
              const nnz = Math.floor(2000 / tables) + (i < 2000 % tables ? 1 : 0);
              const indices = Int32Array.from({ length: nnz }, () => Math.floor(random() * 1000));
              return [new IndexedSlices(randomValues(random, nnz * 16), indices, [1000, 16]), v];
            });
          await opt.applyGradients(pairs());
          for (let step = 0; step < 3; step++) {
            reset(counts);
            await opt.applyGradients(pairs());
            assert.deepEqual(
              counts.created,
              {},
              `${tables} tables, step ${step}: created GPU objects`,
            );
            assert.equal(counts.submits, 1);
            dispatches.push(counts.dispatches);
          }
          opt.destroy();
          store.destroy();
        }
        // Keys, the sort of 2,048 pairs, and one update for the arena: the same for 1 or 20 tables.
        assert.ok(dispatches.every((d) => d === dispatches[0]), `dispatches ${dispatches}`);
        assert.ok(dispatches[0] <= 10, `dispatches ${dispatches[0]}`);
      })
    );
  });
}

const RULES: [string, () => AdagradBase<object>, number][] = [
  ["Keras 3, every option but accumulation", () =>
    Adagrad.keras3({
      learningRate: 0.01,
      weightDecay: 0.01,
      useEma: true,
      emaOverwriteFrequency: 3,
      lossScaleFactor: 2,
      clipvalue: 1,
    }), 1],
  ["optax", () => Adagrad.optax({ learningRate: 0.01, initialAccumulatorValue: 0 }), 1],
  [
    "PyTorch, lr_decay, weight decay, maximize",
    () => Adagrad.torch({ lr: 0.01, lrDecay: 0.1, weightDecay: 0.01, maximize: true }),
    1,
  ],
  [
    "ProximalAdagrad, L1 and L2",
    () =>
      new ProximalAdagrad({
        learningRate: 0.01,
        l1RegularizationStrength: 0.1,
        l2RegularizationStrength: 0.1,
      }),
    1,
  ],
  [
    "RowWiseAdagrad, FBGEMM's weight decay and max_norm (dense gradients read in place)",
    () => new RowWiseAdagrad({ learningRate: 0.01, weightDecay: 0.1, maxNorm: 1 }),
    1,
  ],
  [
    "AdagradDA, L1 and L2",
    () =>
      new AdagradDA({
        learningRate: 0.01,
        l1RegularizationStrength: 0.1,
        l2RegularizationStrength: 0.1,
      }),
    1,
  ],
];

for (const [name, make, expected] of RULES) {
  test(`${name}: one submit, ${expected} dispatch per arena, nothing made per step`, async () => {
    await withDevice((device) =>
      counting(device, async (counts) => {
        // PyTorch's steps per variable differ once some miss a step: the tile lags change.
        await checkStepCost(device, counts, make, (store) => expected * store.arenaCount);
      })
    );
  });
}

test("Keras 3 gradient accumulation: a call that only adds is one dispatch; the update 1, or 4 clipped by norm", async () => {
  await withDevice((device) =>
    counting(device, async (counts) => {
      for (const clip of [{}, { clipnorm: 1 }, { globalClipnorm: 1 }]) {
        for (const variables of [10, 100, 1000]) {
          const store = new VariableStore(device);
          const vars = Array.from({ length: variables }, (_, i) =>
            store.variable(`v${i}`, [1 + (i * 89) % 2000], 0.5));
          const opt = Adagrad.keras3({
            learningRate: 0.01,
            gradientAccumulationSteps: 3,
            useEma: true,
            weightDecay: 0.01,
            ...clip,
          });
          const pairs: GradientPair[] = vars.map((v) => [v.grad, v]);
          for (let call = 0; call < 3; call++) {
            await opt.applyGradients(pairs); // slots made
          }
          const update = "clipnorm" in clip || "globalClipnorm" in clip ? 4 : 1;
          for (let call = 3; call < 9; call++) {
            reset(counts);
            await opt.applyGradients(pairs);
            const what = `${JSON.stringify(clip)}, ${variables} variables, call ${call + 1}`;
            assert.deepEqual(counts.created, {}, what);
            assert.equal(counts.submits, 1, what);
            assert.equal(counts.dispatches, (call + 1) % 3 === 0 ? update : 1, what);
          }
          assert.equal(store.arenaCount, 1);
          opt.destroy();
          store.destroy();
        }
      }
    })
  );
});
