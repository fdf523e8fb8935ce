// The learning rate on the GPU path: schedules, decay, the `lr` alias, changes between steps,
// configs with schedules, and the opt-in epsilon-inside-the-sqrt rule.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Adagrad,
  CosineDecay,
  type GradientPair,
  InverseTimeDecay,
  PiecewiseConstantDecay,
  VariableStore,
} from "../../mod.ts";
import { withDevice } from "../_gpu.ts";
import {
  assertAllClose,
  assertCloseL2,
  randomValues,
  refState,
  refStep,
  rng,
} from "../_reference.ts";

const DECAY_STEPS = [
  {
    var0: [0.09546623899389961, 1.0954662389938996],
    var1: [2.9051790987838686, 3.9051790987838686],
  },
  { var0: [-0.4818838635291075, 0.5181161364708925], var1: [2.841996716383286, 3.841996716383286] },
  {
    var0: [-0.897908895313446, 0.10209110468655402],
    var1: [2.7946335579921153, 3.7946335579921153],
  },
];

test("testBasicWithLearningRateInverseTimeDecay: InverseTimeDecay(3.0, 1.0, 0.5)", async () => {
  await withDevice(async (device) => {
    const store = new VariableStore(device);
    const var0 = store.variable("var0", [2], new Float32Array([1, 2]));
    const var1 = store.variable("var1", [2], new Float32Array([3, 4]));
    const opt = new Adagrad({ learningRate: new InverseTimeDecay(3.0, 1.0, 0.5) });
    for (const [step, expected] of DECAY_STEPS.entries()) {
      assert.equal(opt.currentLearningRate, [3.0, 2.0, 1.5][step]);
      await opt.applyGradients([
        [new Float32Array([0.1, 0.1]), var0],
        [new Float32Array([0.01, 0.01]), var1],
      ]);
      assertAllClose(await var0.read(), expected.var0, `var0 step ${step + 1}`);
      assertAllClose(await var1.read(), expected.var1, `var1 step ${step + 1}`);
    }
    opt.destroy();
    store.destroy();
  });
});

test("a schedule and decay compound; lr changes and schedule swaps apply from the next step", async () => {
  await withDevice(async (device) => {
    const random = rng(17);
    const store = new VariableStore(device);
    const init = randomValues(random, 3001);
    const v = store.variable("v", [3001], init);
    const ref = refState(init, 0.1);
    const schedule = new PiecewiseConstantDecay([1, 3], [0.5, 0.2, 0.05]);
    const opt = new Adagrad({ learningRate: schedule, decay: 0.25 });
    const f = Math.fround;
    // The rate each step should use, computed independently of the optimizer.
    const expectedLr = (step: number, base: number) => f(f(base) / f(1 + f(f(0.25) * step)));
    const bases = [0.5, 0.5, 0.2, 0.2, 0.7, 0.7];
    for (let step = 0; step < 6; step++) {
      if (step === 4) opt.learningRate = 0.7; // a number replaces the schedule
      const lr = expectedLr(step, bases[step]);
      assert.equal(opt.currentLearningRate, lr, `lr at step ${step}`);
      const g = randomValues(random, 3001);
      refStep(ref, g, lr, f(1e-7));
      await opt.applyGradients([[g, v]] as GradientPair[]);
    }
    assertCloseL2(await v.read(), ref.value, 1e-5, "v");
    assertCloseL2(await opt.getSlot(v, "accumulator").read(), ref.accum, 1e-5, "accumulator");
    opt.destroy();
    store.destroy();
  });
});

test("lr: deprecated alias that wins over learningRate and warns once", () => {
  const warnings: unknown[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => warnings.push(args.join(" "));
  try {
    const a = new Adagrad({ learningRate: 0.1, lr: 1.0 });
    const b = new Adagrad({ lr: 0.5 });
    assert.equal(a.learningRate, 1.0);
    assert.equal(b.lr, 0.5);
    b.lr = 0.25;
    assert.equal(b.learningRate, 0.25);
    // Once per process: this file is the only place that constructs with `lr`.
    assert.deepEqual(warnings, ["The `lr` argument is deprecated, use `learningRate` instead."]);
  } finally {
    console.warn = warn;
  }
  // testConstructAdagradWithLR, with lr winning in fromConfig as in Keras (and silently).
  assert.equal(Adagrad.fromConfig({ learning_rate: 0.1, lr: 1.0 }).learningRate, 1.0);
});

test("a config with a schedule, as Python Keras writes it, round-trips", () => {
  const python = {
    name: "Adagrad",
    learning_rate: {
      class_name: "CosineDecay",
      config: { initial_learning_rate: 0.1, decay_steps: 1000, alpha: 0.0, name: null },
    },
    decay: 0.0,
    initial_accumulator_value: 0.1,
    epsilon: 1e-7,
  };
  const opt = Adagrad.fromConfig(python);
  assert.ok(opt.learningRate instanceof CosineDecay);
  opt.iterations = 500;
  assertAllClose([opt.currentLearningRate], [0.05], "lr at step 500");
  assert.deepEqual(opt.getConfig(), python);
  assert.deepEqual(
    Adagrad.fromConfig(JSON.parse(JSON.stringify(opt.getConfig()))).getConfig(),
    python,
  );
});

test("epsilonInsideSqrt: var -= lr * g / sqrt(accum + eps), against the float64 reference", async () => {
  await withDevice(async (device) => {
    const random = rng(23);
    const store = new VariableStore(device);
    const n = 4099;
    const init = randomValues(random, n);
    const inside = store.variable("inside", [n], init);
    const outside = store.variable("outside", [n], init);
    const lr = 0.3;
    const eps = 0.5;
    const common = { learningRate: lr, initialAccumulatorValue: 0, epsilon: eps };
    const optInside = new Adagrad({ ...common, epsilonInsideSqrt: true });
    const optOutside = new Adagrad(common);
    const value = Float64Array.from(init);
    const accum = new Float64Array(n);
    for (let step = 0; step < 3; step++) {
      const g = randomValues(random, n);
      for (let i = 0; i < n; i++) {
        accum[i] += g[i] * g[i];
        value[i] -= Math.fround(lr) * g[i] / Math.sqrt(accum[i] + Math.fround(eps));
      }
      await optInside.applyGradients([[g, inside]]);
      await optOutside.applyGradients([[g, outside]]);
    }
    assertCloseL2(await inside.read(), value, 1e-5, "inside");
    // With these settings the two rules differ far beyond rounding.
    const a = await inside.read();
    const b = await outside.read();
    assert.ok(a.some((x, i) => Math.abs(x - b[i]) > 1e-2));
    assert.equal(optInside.getConfig().epsilon_inside_sqrt, true);
    assert.equal("epsilon_inside_sqrt" in optOutside.getConfig(), false);
    assert.equal(Adagrad.fromConfig(optInside.getConfig()).epsilonInsideSqrt, true);
    optInside.destroy();
    optOutside.destroy();
    store.destroy();
  });
});
