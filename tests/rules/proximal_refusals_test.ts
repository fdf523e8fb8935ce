// ProximalAdagrad, AdagradDA and FBGEMM's row-wise options refused as TensorFlow and FBGEMM refuse
// them (the error class and the framework's words), before anything is made; refused steps change
// no variable, slot or iteration count (AdagradDA's T included).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AdagradBase,
  AdagradDA,
  ExponentialDecay,
  type GradientPair,
  IndexedSlices,
  LossScaleOptimizer,
  ProximalAdagrad,
  RowWiseAdagrad,
  type Variable,
  VariableStore,
} from "../../mod.ts";
import { Snapshot, withDevice } from "../_gpu.ts";
import { assertMoved } from "../_moved.ts";
import { randomValues, rng } from "../_reference.ts";

type Case = [options: Record<string, unknown>, error: typeof TypeError, message: RegExp];

const PROXIMAL: Case[] = [
  [{}, TypeError, /^ProximalAdagrad: learningRate is required \(TF's ProximalAdagradOptimizer/],
  [{ learningRate: 0 }, RangeError, /^lr is not a positive scalar: 0$/],
  [{ learningRate: -1 }, RangeError, /^lr is not a positive scalar: -1$/],
  [
    { learningRate: 0.1, initialAccumulatorValue: 0 },
    RangeError,
    /^initial_accumulator_value must be positive: 0$/,
  ],
  [
    { learningRate: 0.1, l1RegularizationStrength: -0.1 },
    RangeError,
    /^l1 regularization strength is not a non-negative scalar: -0\.1$/,
  ],
  [
    { learningRate: 0.1, l2RegularizationStrength: NaN },
    RangeError,
    /^l2 regularization strength is not a non-negative scalar: NaN$/,
  ],
  [{ learningRate: 0.1, l1RegularizationStrength: "0.1" }, TypeError, /must be a number/],
  [{ learningRate: 0.1, epsilon: 1e-7 }, TypeError, /unknown option 'epsilon'/],
  [{ learningRate: 0.1, l1: 0.1 }, TypeError, /unknown option 'l1'; it takes/],
  [{ learningRate: "0.1" }, TypeError, /learningRate must be a number or a LearningRateSchedule/],
  [{ learningRate: 0.1, clipnorm: 1, globalClipnorm: 1 }, RangeError, /both `clipnorm`/],
  [{ learningRate: 0.1, clipvalue: -1 }, RangeError, /clipvalue >= 0/],
];

const DA: Case[] = [
  [{}, TypeError, /^AdagradDA: learningRate is required \(TF's AdagradDAOptimizer/],
  [
    { learningRate: 0.1, initialGradientSquaredAccumulatorValue: -0.1 },
    RangeError,
    /^initial_gradient_squared_accumulator_value must be positive: -0\.1$/,
  ],
  [{ learningRate: 0.1, initialAccumulatorValue: 0.1 }, TypeError, /unknown option/],
  // T is counted on the CPU: a step the GPU skipped would leave it one ahead.
  [{ learningRate: 0.1, skipNonFinite: true }, TypeError, /unknown option 'skipNonFinite'/],
  [
    { learningRate: 0.1, l2RegularizationStrength: -2 },
    RangeError,
    /^l2 regularization strength is not a non-negative scalar: -2$/,
  ],
];

const ROW_WISE: Case[] = [
  [{ weightDecay: -0.1 }, RangeError, /^weightDecay must be non-negative: -0\.1$/],
  [{ weightDecay: 0.1, weightDecayMode: "DECOUPLE" }, TypeError, /"l2" or "decoupled"/],
  [{ maxNorm: -1 }, RangeError, /^maxNorm must be non-negative: -1$/],
  [{ maxNorm: Infinity }, RangeError, /maxNorm must be finite/],
  [{ weightDecay: 0.1, decay: -1 }, RangeError, /decay cannot be less than 0/],
];

function refuses(make: (o: never) => unknown, cases: Case[]) {
  for (const [options, error, message] of cases) {
    assert.throws(() => make(options as never), (e: Error) => {
      assert.ok(e instanceof error, `${JSON.stringify(options)}: ${e.constructor.name}`);
      assert.match(e.message, message, JSON.stringify(options));
      return true;
    });
  }
}

test("ProximalAdagrad, AdagradDA and RowWiseAdagrad options: each refusal in the framework's words", () => {
  refuses((o) => new ProximalAdagrad(o), PROXIMAL);
  refuses((o) => new AdagradDA(o), DA);
  refuses((o) => new RowWiseAdagrad(o), ROW_WISE);
  assert.throws(() => ProximalAdagrad.fromConfig({ learning_rate: 0.1, epsilon: 1 }), /'epsilon'/);
  assert.throws(
    () => AdagradDA.fromConfig({ learning_rate: 0.1, initial_accumulator_value: 0.1 }),
    /unsupported config key 'initial_accumulator_value'/,
  );
  // Zero strengths are allowed (TF's checks are >= 0), and a schedule is taken as it is.
  new ProximalAdagrad({
    learningRate: 0.1,
    l1RegularizationStrength: 0,
    l2RegularizationStrength: 0,
  });
  new AdagradDA({ learningRate: new ExponentialDecay(0.1, 10, 0.9) });
});

test("messages name the class and the right option; getters and configs a TF or FBGEMM user expects", () => {
  const cases: [() => unknown, RegExp][] = [
    [
      () => new ProximalAdagrad(undefined as never),
      /^ProximalAdagrad: options must be an object, got undefined;/,
    ],
    [() => new AdagradDA(0.1 as never), /^AdagradDA: options must be an object, got number 0\.1;/],
    [
      () => new ProximalAdagrad({ learning_rate: 0.1 } as never),
      /unknown option 'learning_rate' \(did you mean 'learningRate'\?\)/,
    ],
    [
      () => new AdagradDA({ learningRate: 0.1, epsilon: 1e-7 } as never),
      /'epsilon' \(TF's AdagradDAOptimizer kernel has no epsilon\)/,
    ],
    [
      () => new AdagradDA({ learningRate: 0.1, skipNonFinite: true } as never),
      /'skipNonFinite' \(AdagradDA's step count T is counted on the CPU/,
    ],
    [
      () => new RowWiseAdagrad({ max_norm: 1 } as never),
      /max_norm \(did you mean 'maxNorm'\?\)\. Allowed kwargs are .*weightDecay, weightDecayMode, maxNorm\.$/,
    ],
    [
      () => RowWiseAdagrad.fromConfig({ eps: 1e-8 }),
      /^RowWiseAdagrad\.fromConfig: unsupported config key 'eps'$/,
    ],
    [
      () => new AdagradDA({ learningRate: 0.1 }).getSlot(null as never, "accumulator"),
      /^AdagradDA has no slot 'accumulator'; its slots are 'gradient_accumulator', 'gradient_squared_accumulator'$/,
    ],
  ];
  for (const [fn, message] of cases) {
    assert.throws(
      fn,
      (e: Error) =>
        e instanceof TypeError || e instanceof RangeError
          ? (assert.match(e.message, message), true)
          : false,
    );
  }
  const rw = new RowWiseAdagrad({ weightDecay: 0.01, weightDecayMode: "decoupled", maxNorm: 2 });
  assert.deepEqual([rw.weightDecay, rw.weightDecayMode, rw.maxNorm], [0.01, "decoupled", 2]);
  const plain = new RowWiseAdagrad();
  assert.deepEqual([plain.weightDecay, plain.weightDecayMode, plain.maxNorm], [0, "l2", 0]);
  const da = new AdagradDA({ learningRate: 0.1, initialGradientSquaredAccumulatorValue: 0.3 });
  assert.equal(da.initialGradientSquaredAccumulatorValue, 0.3);
  // A learning rate set later is checked as the constructor checks it.
  const prox = new ProximalAdagrad({ learningRate: 0.1 });
  assert.throws(() => prox.learningRate = -1, {
    name: "RangeError",
    message: /^lr is not a positive scalar: -1$/,
  });
  assert.throws(() => da.lr = 0, {
    name: "RangeError",
    message: /^lr is not a positive scalar: 0$/,
  });
  assert.equal(prox.learningRate, 0.1);
  // FBGEMM's options by their camelCase names in a config too.
  const fromCamel = RowWiseAdagrad.fromConfig({ learning_rate: 0.1, weightDecay: 0.1, maxNorm: 2 });
  assert.deepEqual([fromCamel.weightDecay, fromCamel.maxNorm], [0.1, 2]);
  // A rule is Adagrad's config's choice of factory, and nobody else's.
  for (
    const inner of [
      { class_name: "Adagrad", rule: "proximal", config: {} },
      { class_name: "ProximalAdagrad", rule: "keras3", config: { learning_rate: 0.1 } },
    ]
  ) {
    assert.throws(() => LossScaleOptimizer.fromConfig({ inner_optimizer: inner, dynamic: true }), {
      name: "TypeError",
      message: /unknown rule '\w+' for class/,
    });
  }
  // fromConfig takes TF's snake_case and the options' camelCase.
  const p = ProximalAdagrad.fromConfig({ learningRate: 0.2, l1_regularization_strength: 0.01 });
  assert.deepEqual([p.learningRate, p.l1RegularizationStrength], [0.2, 0.01]);
  // A LossScaleOptimizer's config rebuilds the family, whatever the scale.
  for (
    const lso of [
      new LossScaleOptimizer(
        new ProximalAdagrad({ learningRate: 0.1, l1RegularizationStrength: 0.01 }),
      ),
      new LossScaleOptimizer(new AdagradDA({ learningRate: 0.1 }), {
        dynamic: false,
        initialScale: 8,
      }),
      new LossScaleOptimizer(new RowWiseAdagrad({ weightDecay: 0.1, maxNorm: 1 })),
    ]
  ) {
    const config = lso.getConfig();
    const rebuilt = LossScaleOptimizer.fromConfig(config);
    assert.deepEqual(rebuilt.getConfig(), config);
    assert.equal(rebuilt.innerOptimizer.constructor, lso.innerOptimizer.constructor);
  }
});

test("LossScaleOptimizer: a dynamic scale around AdagradDA is refused, a fixed one works", () => {
  assert.throws(() => new LossScaleOptimizer(new AdagradDA({ learningRate: 0.1 })), {
    name: "TypeError",
    message: /AdagradDA, whose step count T is counted on the CPU/,
  });
  new LossScaleOptimizer(new AdagradDA({ learningRate: 0.1 }), { dynamic: false, initialScale: 8 });
  new LossScaleOptimizer(new ProximalAdagrad({ learningRate: 0.1 }));
  new LossScaleOptimizer(new RowWiseAdagrad({ weightDecay: 0.1, maxNorm: 1 }));
});

/** Everything a refused step could change: variables, slots, iterations. */
async function state(device: GPUDevice, opt: AdagradBase<object>, vars: Variable[]) {
  const s = new Snapshot(device);
  const slots = vars.flatMap((v) => opt.getSlotNames().map((n) => opt.getSlot(v, n).region));
  return {
    iterations: opt.iterations,
    data: await Promise.all([...vars, ...slots].map((r) => s.slice(r))),
  };
}

test("AdagradDA refuses a step whose T would pass the kernel's 32-bit count, changing nothing", async () => {
  await withDevice(async (device, own) => {
    const store = own(new VariableStore(device));
    const w = store.variable("w", [5], 1);
    const opt = own(new AdagradDA({ learningRate: 0.1, l1RegularizationStrength: 0.5 }));
    await opt.applyGradients([[new Float32Array(5).fill(1), w]]);
    const before = await w.read();
    opt.iterations = 2 ** 32 - 1;
    await assert.rejects(opt.applyGradients([[new Float32Array(5).fill(1), w]]), {
      name: "RangeError",
      message: /T = iterations \+ 1 = 4294967296 is past the kernel's 32-bit step count/,
    });
    assert.equal(opt.iterations, 2 ** 32 - 1);
    assert.deepEqual(await w.read(), before);
    opt.iterations = 2 ** 32 - 2; // T = 2^32 - 1: the last that fits
    await opt.applyGradients([[new Float32Array(5).fill(1), w]]);
    // |ga| = 2 is far below T * l1: exactly zero.
    assert.deepEqual(Array.from(await w.read()), [0, 0, 0, 0, 0].map((x) => -x));
  });
});

test("refused steps change nothing, and the next step is the one a refusal never happened for", async () => {
  await withDevice(async (device, own) => {
    const makers: [string, () => AdagradBase<object>][] = [
      [
        "proximal",
        () => new ProximalAdagrad({ learningRate: 0.2, l1RegularizationStrength: 0.01 }),
      ],
      ["adagradDA", () => new AdagradDA({ learningRate: 0.2, l1RegularizationStrength: 0.01 })],
      ["row-wise", () => new RowWiseAdagrad({ learningRate: 0.2, weightDecay: 0.1, maxNorm: 1 })],
    ];
    for (const [what, make] of makers) {
      const runs = [0, 1].map(() => {
        const random = rng(7);
        const store = own(new VariableStore(device));
        const init = { table: randomValues(random, 200), w: randomValues(random, 33) };
        const table = store.variable("table", [50, 4], init.table);
        const w = store.variable("w", [33], init.w);
        return { table, w, opt: own(make()), init };
      });
      const random = rng(8);
      const steps = [0, 1].map((): GradientPair[] => [
        [
          new IndexedSlices(randomValues(random, 12), new Int32Array([3, 9, 3]), [50, 4]),
          runs[0].table,
        ],
        [randomValues(random, 33), runs[0].w],
      ]);
      const on = (pairs: GradientPair[], k: number): GradientPair[] =>
        pairs.map(([g, v]) => [g, v === runs[0].table ? runs[k].table : runs[k].w]);
      for (const k of [0, 1]) await runs[k].opt.applyGradients(on(steps[0], k));
      const { table, w, opt } = runs[1];
      const before = await state(device, opt, [table, w]);
      const refusals: [GradientPair[], string, RegExp][] = [
        [[[randomValues(random, 32), w]], "TypeError", /33/],
        [
          [[new IndexedSlices(randomValues(random, 4), new Int32Array([50]), [50, 4]), table]],
          "RangeError",
          /out of range|50/,
        ],
        [
          [[randomValues(random, 33), w], [randomValues(random, 33), w]],
          "TypeError",
          /twice|more than once/,
        ],
      ];
      for (const [pairs, name, message] of refusals) {
        await assert.rejects(opt.applyGradients(pairs), { name, message }, what);
      }
      assert.deepEqual(await state(device, opt, [table, w]), before, `${what}: state changed`);
      for (const k of [0, 1]) await runs[k].opt.applyGradients(on(steps[1], k));
      assert.deepEqual(
        await state(device, runs[1].opt, [runs[1].table, runs[1].w]),
        await state(device, runs[0].opt, [runs[0].table, runs[0].w]),
        `${what}: the step after the refusals`,
      );
      // Runs that did nothing would agree too.
      for (const name of ["table", "w"] as const) {
        assertMoved(await runs[0][name].read(), runs[0].init[name], `${what}: ${name}`);
      }
    }
  });
});
