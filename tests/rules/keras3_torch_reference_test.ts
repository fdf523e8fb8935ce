// Keras 3's and PyTorch's rules on the GPU against their float64 references (_rules_reference.ts),
// over multi-step runs that cover every option, on fresh random data, at sizes around the
// workgroup and tile sizes, across small arenas, and in the caller's own buffers (the scalar
// kernel). Every slot is compared: accumulators, averages, gradient sums.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Adagrad,
  ExponentialDecay,
  type GradientPair,
  IndexedSlices,
  VariableStore,
} from "../../mod.ts";
import { Snapshot, withDevice } from "../_gpu.ts";
import { assertCloseL2, randomIndices, randomValues, rng } from "../_reference.ts";
import { skippingVariables } from "../_console.ts";
import {
  Keras3Reference,
  type Keras3Settings,
  type Keras3State,
  keras3State,
  type TorchSettings,
  torchSparseStep,
  type TorchState,
  torchState,
  torchStep,
} from "../_rules_reference.ts";
import { type Tracked, trackedVariables } from "./_tracked.ts";

const TOL = 2e-5;
const f = Math.fround;
// The variables: tests/rules/_tracked.ts.
const variables = trackedVariables;

async function compare(
  device: GPUDevice,
  opt: Adagrad<object>,
  tracked: Tracked<Keras3State | TorchState>[],
  what: string,
) {
  const snap = new Snapshot(device);
  for (const t of tracked) {
    const at = `${what}: ${t.name}`;
    const s = t.state;
    assertCloseL2(await snap.slice(t.region), s.value, TOL, `${at} variable`);
    const slot = async (name: string) => await snap.slice(opt.getSlot(t.ref, name).region);
    if ("sum" in s) {
      assertCloseL2(await slot("sum"), s.sum, TOL, `${at} sum`);
      continue;
    }
    assertCloseL2(await slot("accumulator"), s.accum, TOL, `${at} accumulator`);
    const names = opt.getSlotNames();
    if (names.includes("average")) {
      assertCloseL2(await slot("average"), s.average, TOL, `${at} average`);
    }
    if (names.includes("gradient_accumulator")) {
      // Zero after an update: compared absolutely there.
      const sums = await slot("gradient_accumulator");
      if (s.gradientSum.every((x) => x === 0)) assert.ok(sums.every((x) => x === 0), `${at} sums`);
      else assertCloseL2(sums, s.gradientSum, TOL, `${at} gradient sums`);
    }
  }
}

/** A Keras 3 run: `calls` calls of fresh gradients for every variable, checked at the end. */
async function keras3Run(
  options: Parameters<typeof Adagrad.keras3>[0] & object,
  settings: Omit<Keras3Settings, "lr" | "epsilon" | "initial">,
  calls: number,
  seed: number,
  exclude?: string[],
) {
  await withDevice(async (device, own) => {
    const random = rng(seed);
    const schedule = options.learningRate instanceof ExponentialDecay ? options.learningRate : null;
    const lr = options.learningRate as number;
    const ref = new Keras3Reference({
      lr: (c) => schedule ? f(schedule.call(c)) : f(lr),
      epsilon: f(options.epsilon ?? 1e-7),
      initial: options.initialAccumulatorValue ?? 0.1,
      ...settings,
    });
    const tracked = variables(
      device,
      own,
      random,
      (init) => keras3State(init, options.initialAccumulatorValue ?? 0.1),
    );
    const opt = own(Adagrad.keras3(options));
    if (exclude) opt.excludeFromWeightDecay({ varNames: exclude });
    const decays = tracked.map((t) => !exclude?.some((p) => new RegExp(p).test(t.name)));
    for (let call = 0; call < calls; call++) {
      const grads = tracked.map((t) => randomValues(random, t.n));
      await opt.applyGradients(grads.map((g, k) => [g, tracked[k].ref] as GradientPair));
      ref.apply(tracked.map((t, k) => ({ state: t.state, grad: grads[k], decay: decays[k] })));
      assert.equal(opt.iterations, ref.iterations, `call ${call + 1}: iterations`);
    }
    const what = `keras3 ${
      JSON.stringify({ ...options, learningRate: schedule ? "schedule" : lr })
    }`;
    await compare(device, opt, tracked, what);
    if (options.useEma) {
      opt.finalizeVariableValues(tracked.map((t) => t.ref));
      for (const t of tracked) t.state.value.set(t.state.average);
      await compare(device, opt, tracked, `${what}, finalized`);
    }
  });
}

test("Keras 3: accumulation (3) with clipnorm, weight decay with exclusions, and a schedule", async () => {
  const learningRate = new ExponentialDecay(0.3, 2, 0.8);
  await keras3Run(
    { learningRate, gradientAccumulationSteps: 3, clipnorm: 2, weightDecay: 0.05 },
    { clip: { clipnorm: 2 }, weightDecay: f(0.05), gradientAccumulationSteps: 3 },
    8,
    11,
    ["bias"],
  );
});

test("Keras 3: EMA with overwrite every 3 and finalizeVariableValues, clipvalue, weight decay", async () => {
  await keras3Run(
    {
      learningRate: 0.2,
      useEma: true,
      emaMomentum: 0.9,
      emaOverwriteFrequency: 3,
      clipvalue: 0.7,
      weightDecay: 0.01,
      initialAccumulatorValue: 0.05,
    },
    {
      clip: { clipvalue: f(0.7) },
      weightDecay: f(0.01),
      useEma: true,
      emaMomentum: f(0.9),
      emaOverwriteFrequency: 3,
    },
    7,
    12,
  );
});

test("Keras 3: loss scale factor, accumulation (2), global norm and EMA together", async () => {
  await keras3Run(
    {
      learningRate: 0.1,
      lossScaleFactor: 64,
      gradientAccumulationSteps: 2,
      // Below the mean's norm (about 4 here), so that the clip acts.
      globalClipnorm: 0.5,
      useEma: true,
      emaMomentum: 0.8,
      emaOverwriteFrequency: 2,
      epsilon: 0.3,
    },
    {
      clip: { globalClipnorm: 0.5 },
      lossScaleFactor: 64,
      gradientAccumulationSteps: 2,
      useEma: true,
      emaMomentum: f(0.8),
      emaOverwriteFrequency: 2,
    },
    7,
    13,
  );
});

test("Keras 3: loss scale factor with clipnorm, epsilon inside the square root", async () => {
  await keras3Run(
    {
      learningRate: 0.5,
      lossScaleFactor: 1000,
      clipnorm: 3,
      epsilon: 0.25,
      initialAccumulatorValue: 0,
    },
    { clip: { clipnorm: 3 }, lossScaleFactor: 1000 },
    4,
    14,
  );
});

test("Keras 3: IndexedSlices with clipnorm and a loss scale factor", async () => {
  await withDevice(async (device, own) => {
    const random = rng(15);
    const store = own(new VariableStore(device));
    const rows = 3001, width = 7;
    const init = randomValues(random, rows * width);
    const table = store.variable("table", [rows, width], init);
    const opt = own(Adagrad.keras3({ learningRate: 0.3, clipnorm: 1.5, lossScaleFactor: 8 }));
    const ref = new Keras3Reference({
      lr: () => f(0.3),
      epsilon: f(1e-7),
      initial: 0.1,
      clip: { clipnorm: 1.5 },
      lossScaleFactor: 8,
    });
    const state = keras3State(init, 0.1);
    for (let step = 0; step < 3; step++) {
      // Unique indices: where Keras 3 and a dense gradient agree.
      const indices = Int32Array.from(new Set(randomIndices(random, 400, rows, 5000)));
      const values = randomValues(random, indices.length * width);
      await opt.applyGradients([[new IndexedSlices(values, indices, [rows, width]), table]]);
      const dense = new Float64Array(rows * width);
      indices.forEach((r, k) => {
        for (let c = 0; c < width; c++) dense[r * width + c] = values[k * width + c];
      });
      // Untouched rows: a zero gradient changes nothing there, dense or not.
      ref.apply([{ state, grad: dense, decay: true }]);
    }
    assertCloseL2(await table.read(), state.value, TOL, "table");
    assertCloseL2(await opt.getSlot(table, "accumulator").read(), state.accum, TOL, "accumulator");
  });
});

const TORCH: TorchSettings = {
  lr: f(0.2),
  lrDecay: f(0.3),
  weightDecay: f(0.02),
  eps: f(1e-10),
  maximize: true,
};

test("PyTorch: lr_decay, weight decay and maximize, with gradients missing (per-variable steps)", async () => {
  await withDevice(async (device, own) => {
    const random = rng(21);
    const tracked = variables(device, own, random, (init) => torchState(init, 0.05));
    const opt = own(Adagrad.torch({
      lr: 0.2,
      lrDecay: 0.3,
      weightDecay: 0.02,
      initialAccumulatorValue: 0.05,
      maximize: true,
    }));
    for (let step = 0; step < 6; step++) {
      const pairs: GradientPair[] = tracked.map((t) => {
        if (step > 0 && random() < 0.3) return [null, t.ref];
        const g = randomValues(random, t.n);
        torchStep(t.state, g, TORCH);
        return [g, t.ref];
      });
      await skippingVariables(() => opt.applyGradients(pairs));
    }
    assert.ok(new Set(tracked.map((t) => t.state.step)).size > 1, "the steps differ");
    await compare(device, opt, tracked, "torch");
  });
});

test("PyTorch: IndexedSlices with lr_decay and maximize, duplicates coalesced, beside dense ones", async () => {
  await withDevice(async (device, own) => {
    const random = rng(22);
    const settings = { ...TORCH, weightDecay: 0 };
    const store = own(new VariableStore(device));
    const tables = [[5000, 3], [1000, 16], [17, 1]].map(([rows, width], i) => {
      const init = randomValues(random, rows * width);
      const v = store.variable(`emb${i}`, [rows, width], init);
      return { v, rows, width, state: torchState(init, 0.1) };
    });
    const denseInit = randomValues(random, 4097);
    const dense = store.variable("dense", [4097], denseInit);
    const denseState = torchState(denseInit, 0.1);
    const opt = own(
      Adagrad.torch({ lr: 0.2, lrDecay: 0.3, initialAccumulatorValue: 0.1, maximize: true }),
    );
    for (let step = 0; step < 5; step++) {
      const pairs: GradientPair[] = tables.map((t) => {
        if (step > 0 && random() < 0.3) return [null, t.v];
        const indices = randomIndices(random, 600, t.rows, 40);
        const values = randomValues(random, indices.length * t.width);
        torchSparseStep(t.state, t.width, indices, values, settings);
        return [new IndexedSlices(values, indices, [t.rows, t.width]), t.v];
      });
      const g = randomValues(random, 4097);
      torchStep(denseState, g, settings);
      await skippingVariables(() => opt.applyGradients([...pairs, [g, dense]]));
    }
    for (const t of tables) {
      assertCloseL2(await t.v.read(), t.state.value, TOL, `${t.v.name} variable`);
      assertCloseL2(await opt.getSlot(t.v, "sum").read(), t.state.sum, TOL, `${t.v.name} sum`);
    }
    assertCloseL2(await dense.read(), denseState.value, TOL, "dense variable");
  });
});
