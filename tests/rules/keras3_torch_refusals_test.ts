// Each option of the Keras 3 and PyTorch rules refused as its framework refuses it: the error
// class, the framework's message, thrown before anything is made or encoded; a refused step
// changes no variable, slot, iteration count or PyTorch step.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Adagrad,
  decodeSafetensors,
  type GradientPair,
  IndexedSlices,
  LossScaleOptimizer,
  RowWiseAdagrad,
  saveCheckpoint,
  type Variable,
  VariableStore,
} from "../../mod.ts";
import { Snapshot, withDevice } from "../_gpu.ts";
import { randomValues, rng } from "../_reference.ts";
import { skippingVariables } from "../_console.ts";

type Case = [options: Record<string, unknown>, error: typeof TypeError, message: RegExp];

const KERAS3: Case[] = [
  [{ lr: 0.1 }, TypeError, /^Argument\(s\) not recognized: \{'lr': 0\.1\}$/],
  [{ epsilonInsideSqrt: true }, TypeError, /not recognized: \{'epsilonInsideSqrt': True\}/],
  [
    { gradientAccumulationSteps: 1 },
    RangeError,
    /^`gradient_accumulation_steps` must be an integer >= 2\. Received: gradient_accumulation_steps=1$/,
  ],
  [{ gradientAccumulationSteps: 2.5 }, RangeError, /must be an integer >= 2/],
  [{ gradientAccumulationSteps: "2" }, TypeError, /gradientAccumulationSteps must be a number/],
  [
    { useEma: true, emaMomentum: 1.5 },
    RangeError,
    /^`ema_momentum` must be in the range \[0, 1\]\. Received: ema_momentum=1\.5$/,
  ],
  [{ useEma: true, emaMomentum: -0.1 }, RangeError, /ema_momentum=-0\.1/],
  [
    { useEma: true, emaOverwriteFrequency: 1.5 },
    RangeError,
    /^`ema_overwrite_frequency` must be an integer >= 1 or None\. Received: ema_overwrite_frequency=1\.5$/,
  ],
  [{ useEma: "yes" }, TypeError, /useEma must be a boolean/],
  [
    { clipnorm: 1, clipvalue: 0.5 },
    RangeError,
    /^Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set\. Received: clipnorm=1, clipvalue=0\.5, global_clipnorm=None$/,
  ],
  [{ clipnorm: 1, globalClipnorm: 2 }, RangeError, /Only one of/],
  [
    { learningRate: "0.1" },
    TypeError,
    /^Argument `learning_rate` should be float, or an instance of LearningRateSchedule, or a callable/,
  ],
  [{ learningRate: () => 0.1 }, TypeError, /Argument `learning_rate` should be float/],
  [{ lossScaleFactor: 0 }, RangeError, /lossScaleFactor must not be 0/],
  [{ weightDecay: Infinity }, RangeError, /weightDecay must be finite/],
  [{ epsilon: NaN }, RangeError, /epsilon must be finite/],
  [{ name: 3 }, TypeError, /name must be a string/],
];

const TORCH: Case[] = [
  [{ lr: -0.1 }, RangeError, /^Invalid learning rate: -0\.1$/],
  [{ lrDecay: -0.5 }, RangeError, /^Invalid lr_decay value: -0\.5$/],
  [{ weightDecay: -1 }, RangeError, /^Invalid weight_decay value: -1$/],
  [
    { initialAccumulatorValue: -0.1 },
    RangeError,
    /^Invalid initial_accumulator_value value: -0\.1$/,
  ],
  [{ eps: -1e-10 }, RangeError, /^Invalid epsilon value: -1e-10$/],
  // PyTorch's order: the learning rate first.
  [{ eps: -1, lr: -2 }, RangeError, /^Invalid learning rate: -2$/],
  [
    { learningRate: 0.1 },
    TypeError,
    /^Adagrad\.torch\(\) got an unexpected keyword argument 'learningRate'$/,
  ],
  [{ clipnorm: 1 }, TypeError, /unexpected keyword argument 'clipnorm'/],
  [{ maximize: 1 }, TypeError, /maximize must be a boolean/],
  [{ lr: Infinity }, RangeError, /lr must be finite/],
];

test("Keras 3 rule: each option's refusal, with Keras 3's words", () => {
  for (const [options, error, message] of KERAS3) {
    assert.throws(() => Adagrad.keras3(options as never), (e: Error) => {
      assert.ok(e instanceof error, `${JSON.stringify(options)}: ${e.constructor.name}`);
      assert.match(e.message, message);
      return true;
    });
  }
  // Keras 3 tests truthiness: 0 means none, and a momentum is checked only with useEma.
  assert.equal(Adagrad.keras3({ gradientAccumulationSteps: 0 }).getSlotNames().length, 1);
  Adagrad.keras3({ emaMomentum: 7 });
  assert.throws(() => Adagrad.keras3(0.1 as never), TypeError);
  assert.throws(() => RowWiseAdagrad.keras3({}), /RowWiseAdagrad has no keras3 rule/);
  assert.throws(
    () => Adagrad.keras3FromConfig({ learning_rate: 0.1, decay: 0.5 }),
    /not recognized/,
  );
});

test("PyTorch rule: each option's refusal, with PyTorch's words", () => {
  for (const [options, error, message] of TORCH) {
    assert.throws(() => Adagrad.torch(options as never), (e: Error) => {
      assert.ok(e instanceof error, `${JSON.stringify(options)}: ${e.constructor.name}`);
      assert.match(e.message, message);
      return true;
    });
  }
  assert.throws(() => RowWiseAdagrad.torch({}), /RowWiseAdagrad has no torch rule/);
  assert.throws(() => Adagrad.torchFromConfig({ lr: 0.1, momentum: 0.9 }), /'momentum'/);
});

test("LossScaleOptimizer: refused where the rule's counters or factor would be wrong", () => {
  const cases: [Adagrad<object>, boolean, RegExp][] = [
    [Adagrad.keras3({ lossScaleFactor: 8 }), false, /lossScaleFactor/],
    [Adagrad.keras3({ useEma: true }), true, /dynamic scale skips steps/],
    [Adagrad.keras3({ gradientAccumulationSteps: 2 }), true, /dynamic scale skips steps/],
    [Adagrad.torch({}), true, /PyTorch's rule/],
  ];
  for (const [inner, dynamic, message] of cases) {
    const options = dynamic ? {} : { dynamic: false, initialScale: 8 };
    assert.throws(() => new LossScaleOptimizer(inner, options), { name: "TypeError", message });
  }
  // What works: a fixed scale around either, a dynamic one around plain Keras 3.
  new LossScaleOptimizer(Adagrad.keras3({ useEma: true }), { dynamic: false, initialScale: 4 });
  new LossScaleOptimizer(Adagrad.torch({}), { dynamic: false, initialScale: 4 });
  new LossScaleOptimizer(Adagrad.keras3({ weightDecay: 0.1 }));
});

/** Everything a refused step could change: variables, slots, iterations, PyTorch steps. */
async function state(device: GPUDevice, opt: Adagrad<object>, vars: Variable[]) {
  const s = new Snapshot(device);
  const slots = vars.flatMap((v) => opt.getSlotNames().map((n) => opt.getSlot(v, n).region));
  return {
    iterations: opt.iterations,
    data: await Promise.all([...vars, ...slots].map((r) => s.slice(r))),
  };
}

test("a refused step changes nothing: IndexedSlices with options that act on whole variables", async () => {
  await withDevice(async (device, own) => {
    const random = rng(5);
    const options: [string, () => Adagrad<object>, RegExp][] = [
      [
        "keras3 weightDecay",
        () => Adagrad.keras3({ weightDecay: 0.1 }),
        /weightDecay act on whole/,
      ],
      ["keras3 useEma", () => Adagrad.keras3({ useEma: true }), /useEma act on whole/],
      [
        "keras3 accumulation",
        () => Adagrad.keras3({ gradientAccumulationSteps: 2 }),
        /gradientAccumulationSteps act/,
      ],
      [
        "torch weightDecay",
        () => Adagrad.torch({ weightDecay: 0.1, lrDecay: 0.5 }),
        /^weight_decay option is not compatible with sparse gradients$/,
      ],
    ];
    for (const [what, make, message] of options) {
      const store = own(new VariableStore(device));
      const table = store.variable("table", [50, 4], randomValues(random, 200));
      const w = store.variable("w", [33], randomValues(random, 33));
      const opt = own(make());
      const dense =
        (): GradientPair[] => [[randomValues(random, 200), table], [randomValues(random, 33), w]];
      await opt.applyGradients(dense());
      const before = await state(device, opt, [table, w]);
      const slices = new IndexedSlices(randomValues(random, 8), new Int32Array([3, 9]), [50, 4]);
      await assert.rejects(
        opt.applyGradients([[randomValues(random, 33), w], [slices, table]]),
        { name: "TypeError", message },
        what,
      );
      assert.deepEqual(await state(device, opt, [table, w]), before, what);
      if (opt.rule === "torch") {
        // PyTorch's per-variable steps are unchanged too.
        const bytes = await saveCheckpoint({ variables: [table, w], optimizer: opt });
        const file = decodeSafetensors(bytes);
        for (const name of ["table/step", "w/step"]) {
          const step = new Float32Array(file.tensors.get(name)!.data.slice().buffer);
          assert.deepEqual(step, new Float32Array([1]), name);
        }
      }
    }
  });
});

test("finalizeVariableValues refuses a variable without an average, writing nothing", async () => {
  await withDevice(async (device, own) => {
    const store = own(new VariableStore(device));
    const a = store.variable("a", [5], 1);
    const b = store.variable("b", [5], 2);
    const opt = own(Adagrad.keras3({ learningRate: 0.1, useEma: true }));
    await skippingVariables(() =>
      opt.applyGradients([[new Float32Array(5).fill(0.5), a], [null, b]])
    );
    const before = [await a.read(), await b.read()];
    assert.throws(() => opt.finalizeVariableValues([a, b]), {
      name: "RangeError",
      message: /'b' has no average yet/,
    });
    assert.throws(() => opt.finalizeVariableValues(a as never), TypeError);
    assert.deepEqual([await a.read(), await b.read()], before);
    // Without useEma it does nothing, as Keras's.
    const plain = own(Adagrad.keras3({ learningRate: 0.1 }));
    plain.finalizeVariableValues([b]);
    assert.throws(() => opt.excludeFromWeightDecay({ varNames: "bias" } as never), TypeError);
    assert.throws(() => opt.excludeFromWeightDecay({ names: [] } as never), /unknown key 'names'/);
  });
});
