// The other frameworks' own numbers: Keras 3's adagrad_test.py and optimizer_test.py goldens, the
// large-epsilon vectors that tell epsilon's two places apart, and PyTorch's formula vector
// (reference adagrad_family.md, sections 2.5-2.13 and 8).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Adagrad, type GradientPair, type Variable, VariableStore } from "../../mod.ts";
import { withDevice } from "../_gpu.ts";
import { assertAllClose } from "../_reference.ts";

/** Runs `steps` steps of `opt` on fresh variables of `init`, giving `grads(step)`. */
async function run(
  device: GPUDevice,
  opt: Adagrad<object>,
  init: number[][],
  grads: (step: number) => (number[] | null)[],
  steps: number,
  check: (step: number, vars: Variable[]) => Promise<void>,
): Promise<Variable[]> {
  const store = new VariableStore(device);
  const vars = init.map((x, i) => store.variable(`var${i}`, [x.length], new Float32Array(x)));
  for (let step = 0; step < steps; step++) {
    const pairs: GradientPair[] = grads(step).map((g, i) => [g && new Float32Array(g), vars[i]]);
    await opt.applyGradients(pairs);
    await check(step, vars);
  }
  opt.destroy();
  store.destroy();
  return vars;
}

const read = async (v: Variable) => Array.from(await v.read());

test("Keras 3 test_single_step: Adagrad(learning_rate=0.5)", async () => {
  await withDevice(async (device) => {
    await run(
      device,
      Adagrad.keras3({ learningRate: 0.5 }),
      [[1, 2, 3, 4]],
      () => [[
        1,
        6,
        7,
        2,
      ]],
      1,
      async (_, [v]) => {
        assertAllClose(await read(v), [0.5233, 1.5007, 2.5005, 3.5061], "vars", 1e-4, 1e-4);
      },
    );
  });
});

test("Keras 3 test_correctness_with_golden: lr 0.2, accumulator 0.3, epsilon 1e-6", async () => {
  const golden = [
    [0.9963, 0.9963, 0.9963, 0.9963, 0.9963, 0.9963, 0.9963, 0.9963, 0.9963, 0.9963],
    [0.9604, 0.9278, 0.9003, 0.8784, 0.8615, 0.8487, 0.8388, 0.8313, 0.8255, 0.8209],
    [0.9251, 0.8629, 0.8137, 0.7768, 0.7497, 0.7298, 0.7151, 0.704, 0.6956, 0.6891],
    [0.8903, 0.8012, 0.7342, 0.6862, 0.6521, 0.6277, 0.6099, 0.5967, 0.5867, 0.579],
    [0.856, 0.7422, 0.6604, 0.6037, 0.5644, 0.5367, 0.5168, 0.5021, 0.491, 0.4825],
  ];
  const grads = Array.from({ length: 10 }, (_, i) => Math.fround((i + 1) / 10));
  await withDevice(async (device) => {
    const opt = Adagrad.keras3({ learningRate: 0.2, initialAccumulatorValue: 0.3, epsilon: 1e-6 });
    await run(
      device,
      opt,
      [Array(10).fill(1)],
      (s) => [s === 0 ? Array(10).fill(0.01) : grads],
      5,
      async (s, [x]) => {
        assertAllClose(await read(x), golden[s], `step ${s}`, 5e-4, 5e-4);
      },
    );
  });
});

test("Keras 3 test_weight_decay: decoupled, and excluded by name and by variable", async () => {
  await withDevice(async (device) => {
    const store = new VariableStore(device);
    const var1 = store.variable("var1", [], new Float32Array([2]));
    const var2 = store.variable("exclude", [], new Float32Array([2]));
    const var3 = store.variable("var3", [], new Float32Array([2]));
    const zero = () => new Float32Array([0]);
    const opt1 = Adagrad.keras3({ learningRate: 1, weightDecay: 0.004 });
    await opt1.applyGradients([[zero(), var1]]);
    const opt2 = Adagrad.keras3({ learningRate: 1, weightDecay: 0.004 });
    opt2.excludeFromWeightDecay({ varNames: ["exclude"] });
    await opt2.applyGradients([[zero(), var1], [zero(), var2]]);
    const opt3 = Adagrad.keras3({ learningRate: 1, weightDecay: 0.004 });
    opt3.excludeFromWeightDecay({ varList: [var3] });
    await opt3.applyGradients([[zero(), var1], [zero(), var3]]);
    assertAllClose(await read(var1), [1.9760959], "var1", 0, 1e-6);
    assertAllClose(await read(var2), [2.0], "var2", 0, 1e-6);
    assertAllClose(await read(var3), [2.0], "var3", 0, 1e-6);
    for (const o of [opt1, opt2, opt3]) o.destroy();
    store.destroy();
  });
});

test("Keras 3 test_clip_norm and test_clip_value: the clipped gradients [100, 100] step", async () => {
  // Keras checks the clipped gradient itself; here it is the one a step of lr 1 from 0 takes:
  // the variable moves by -g / sqrt(0.1 + g^2 + 1e-7).
  const moved = (g: number) => -g / Math.sqrt(Math.fround(0.1) + g * g + 1e-7);
  await withDevice(async (device) => {
    for (
      const [options, g] of [[{ clipnorm: 1 }, Math.SQRT2 / 2], [{ clipvalue: 1 }, 1]] as const
    ) {
      await run(
        device,
        Adagrad.keras3({ learningRate: 1, ...options }),
        [[0, 0]],
        () => [[100, 100]],
        1,
        async (_, [v]) => {
          assertAllClose(await read(v), [moved(g), moved(g)], JSON.stringify(options), 1e-6, 1e-7);
        },
      );
    }
  });
});

// Keras 3's optimizer_test.py checks EMA, gradient accumulation, the loss scale factor and the
// global norm with SGD at lr 1. Adagrad with a learning rate of 1e6 and an accumulator of 1e12 is
// that SGD exactly in float32: 1e12 + g * g rounds to 1e12 for |g| < 128, whose square root is
// 1e6, so each step moves the variable by exactly -g.
const SGD = { learningRate: 1e6, initialAccumulatorValue: 1e12 };

test("Keras 3 test_ema (as SGD): moving average, first step, overwrite every 3", async () => {
  const expected = [
    { v: [2, 3, 4, 5], avg: [2, 3, 4, 5] },
    { v: [1, 2, 3, 4], avg: [1.9, 2.9, 3.9, 4.9] },
    { v: [1.71, 2.71, 3.71, 4.71], avg: [1.71, 2.71, 3.71, 4.71] },
  ];
  await withDevice(async (device) => {
    const opt = Adagrad.keras3({
      ...SGD,
      useEma: true,
      emaMomentum: 0.9,
      emaOverwriteFrequency: 3,
    });
    await run(device, opt, [[3, 4, 5, 6]], () => [[1, 1, 1, 1]], 3, async (s, [v]) => {
      assertAllClose(await read(v), expected[s].v, `step ${s + 1} variable`, 1e-6, 1e-6);
      const avg = await opt.getSlot(v, "average").read();
      assertAllClose(avg, expected[s].avg, `step ${s + 1} average`, 1e-6, 1e-6);
    });
  });
});

test("Keras 3 test_gradient_accumulation (as SGD): N = 3, sums, the update, iterations", async () => {
  const expected = [
    { v: [1, 2, 3, 4], acc: [1, 1, 1, 1], calls: 1, iterations: 0 },
    { v: [1, 2, 3, 4], acc: [2, 2, 2, 2], calls: 2, iterations: 0 },
    { v: [0, 1, 2, 3], acc: [0, 0, 0, 0], calls: 3, iterations: 1 },
    { v: [0, 1, 2, 3], acc: [1, 1, 1, 1], calls: 4, iterations: 1 },
  ];
  await withDevice(async (device) => {
    const opt = Adagrad.keras3({ ...SGD, gradientAccumulationSteps: 3 });
    await run(device, opt, [[1, 2, 3, 4]], () => [[1, 1, 1, 1]], 4, async (s, [v]) => {
      const e = expected[s];
      assertAllClose(await read(v), e.v, `call ${s + 1} variable`, 0, 1e-6);
      const acc = await opt.getSlot(v, "gradient_accumulator").read();
      assertAllClose(acc, e.acc, `call ${s + 1} accumulator`, 0, 1e-6);
      assert.equal(opt.iterations, e.iterations);
      assert.equal((await opt.getWeights())[0], e.calls, "the iteration weight counts calls");
    });
  });
});

test("Keras 3 test_static_loss_scaling (as SGD) and scale_loss", async () => {
  await withDevice(async (device) => {
    const opt = Adagrad.keras3({ ...SGD, lossScaleFactor: 1024 });
    assert.equal(opt.scaleLoss(1), 1024);
    await run(device, opt, [[1, 2, 3, 4]], () => [[1024, 2048, 3072, 4096]], 1, async (_, [v]) => {
      assertAllClose(await read(v), [0, 0, 0, 0], "variable", 0, 1e-6);
    });
  });
});

test("Keras 3 test_global_clip_norm (as SGD): [50, 100] becomes grad / norm", async () => {
  const norm = Math.hypot(50, 100);
  await withDevice(async (device) => {
    const opt = Adagrad.keras3({ ...SGD, globalClipnorm: 1 });
    await run(device, opt, [[0, 0]], () => [[50, 100]], 1, async (_, [v]) => {
      assertAllClose(await read(v), [-50 / norm, -100 / norm], "variable", 1e-6, 1e-7);
    });
  });
});

// testBasicWithLargeEpsilon's setting (lr 3, epsilon 1, accumulator 0.1), three steps: epsilon
// outside (Keras 2, PyTorch) and inside (Keras 3) the square root give different numbers.
const OUTSIDE = [
  { var0: [0.7747177, 1.7747177], var1: [2.9772103, 3.9772103] },
  { var0: [0.551903, 1.551903], var1: [2.9544234, 3.9544234] },
  { var0: [0.3314047, 1.3314047], var1: [2.9316392, 3.9316392] },
];
const INSIDE = [
  { var0: [0.7152526, 1.7152526], var1: [2.9713974, 3.9713974] },
  { var0: [0.4317792, 1.4317792], var1: [2.9427961, 3.9427961] },
  { var0: [0.149563, 1.149563], var1: [2.9141962, 3.9141962] },
];

for (
  const [label, make, expected] of [
    ["Keras 2", () => new Adagrad({ learningRate: 3, epsilon: 1 }), OUTSIDE],
    ["Keras 3", () => Adagrad.keras3({ learningRate: 3, epsilon: 1 }), INSIDE],
    ["PyTorch", () => Adagrad.torch({ lr: 3, eps: 1, initialAccumulatorValue: 0.1 }), OUTSIDE],
  ] as const
) {
  test(`large epsilon tells the rules apart: ${label}`, async () => {
    await withDevice(async (device) => {
      const grads = () => [[0.1, 0.1], [0.01, 0.01]];
      await run(device, make(), [[1, 2], [3, 4]], grads, 3, async (s, [var0, var1]) => {
        assertAllClose(await read(var0), expected[s].var0, `step ${s + 1} var0`, 1e-6, 1e-6);
        assertAllClose(await read(var1), expected[s].var1, `step ${s + 1} var1`, 1e-6, 1e-6);
      });
    });
  });
}

test("PyTorch's formula: lr 0.1, lr_decay 0.5, weight_decay 0.1, accumulator 0.1", async () => {
  const expected = [
    { p: [0.9115348, -2.0688247, 3.0911322], sum: [0.46, 0.19, 0.59] },
    { p: [0.89345, -2.0233337, 3.0497093], sum: [0.4965397, 0.3555533, 0.9610189] },
    { p: [0.8514677, -2.0072673, 3.0594654], sum: [1.6832122, 0.3964921, 0.9990553] },
  ];
  const grads = [[0.5, 0.5, -1], [0.1, -0.2, 0.3], [1, 0, -0.5]];
  await withDevice(async (device) => {
    const opt = Adagrad.torch({
      lr: 0.1,
      lrDecay: 0.5,
      weightDecay: 0.1,
      initialAccumulatorValue: 0.1,
    });
    await run(device, opt, [[1, -2, 3]], (s) => [grads[s]], 3, async (s, [p]) => {
      assertAllClose(await read(p), expected[s].p, `step ${s + 1} param`, 1e-6, 1e-6);
      const sum = await opt.getSlot(p, "sum").read();
      assertAllClose(sum, expected[s].sum, `step ${s + 1} sum`, 1e-6, 1e-6);
    });
  });
});
