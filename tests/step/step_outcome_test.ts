// What a step promises and refuses, for every optimizer: each step's promise resolves to its own
// `iterations` even when not awaited one by one, and a negative, NaN or infinite learning rate is
// refused at construction, when set, and when a schedule returns one (the step changes nothing).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Adagrad,
  type AdagradBase,
  AdagradDA,
  LearningRateSchedule,
  LossScaleOptimizer,
  ProximalAdagrad,
  RowWiseAdagrad,
  VariableStore,
} from "../../mod.ts";
import { withDevice } from "../_gpu.ts";
import { randomValues, rng } from "../_reference.ts";

/** Every optimizer of the package, built with learning rate `lr`. */
const FACTORIES: [string, (lr: number | LearningRateSchedule) => AdagradBase<object>][] = [
  ["Adagrad", (lr) => new Adagrad({ learningRate: lr })],
  ["Adagrad.keras3", (lr) => Adagrad.keras3({ learningRate: lr })],
  ["Adagrad.torch", (lr) => Adagrad.torch({ lr })],
  ["RowWiseAdagrad", (lr) => new RowWiseAdagrad({ learningRate: lr })],
  ["Adagrad.optax", (lr) => Adagrad.optax({ learningRate: lr })],
  ["ProximalAdagrad", (lr) => new ProximalAdagrad({ learningRate: lr })],
  ["AdagradDA", (lr) => new AdagradDA({ learningRate: lr })],
];

/** A schedule of 0.1 for the first step, then `later`. */
class TurnsTo extends LearningRateSchedule {
  readonly later: number;
  constructor(later: number) {
    super();
    this.later = later;
  }
  call(step: number): number {
    return step === 0 ? 0.1 : this.later;
  }
  getConfig(): Record<string, unknown> {
    return { later: this.later };
  }
}

test("each un-awaited step's promise resolves to its own iterations, in every optimizer", async () => {
  await withDevice(async (device, own) => {
    const optimizers: [string, { applyGradients: AdagradBase["applyGradients"] }][] = [
      ...FACTORIES.map(([name, make]) => [name, own(make(0.1))] as [string, AdagradBase<object>]),
      ["LossScaleOptimizer", own(new LossScaleOptimizer(new Adagrad({ learningRate: 0.1 })))],
    ];
    const random = rng(7);
    for (const [name, opt] of optimizers) {
      const store = own(new VariableStore(device));
      const w = store.variable("w", [3, 5], randomValues(random, 15));
      const steps = Array.from(
        { length: 5 },
        () => opt.applyGradients([[randomValues(random, 15), w]]),
      );
      const settled = await Promise.allSettled(steps);
      assert.deepEqual(
        settled.map((s) => s.status === "fulfilled" ? s.value : s.reason),
        [1, 2, 3, 4, 5],
        name,
      );
    }
  });
});

test("a negative, NaN or infinite learning rate is refused at construction, in every optimizer", () => {
  for (const [name, make] of FACTORIES) {
    for (const lr of [-0.1, NaN, Infinity, -Infinity]) {
      assert.throws(() => make(lr), RangeError, `${name} with ${lr}`);
    }
  }
  // Keras's, PyTorch's and optax's zero stays allowed; TF's proximal kernels refuse it.
  for (const [name, make] of FACTORIES.slice(0, 5)) assert.equal(make(0).learningRate, 0, name);
  assert.throws(() => new Adagrad({ learningRate: -0.1 }), {
    name: "RangeError",
    message: /^learningRate must be finite and >= 0, got -0\.1; unlike Keras/,
  });
  assert.throws(() => new Adagrad({ lr: -1 }), { name: "RangeError", message: /^lr must be/ });
});

test("a negative, NaN or infinite learning rate is refused when set, and the old one stays", () => {
  for (const [name, make] of FACTORIES) {
    const opt = make(0.1);
    for (const lr of [-1, NaN, Infinity]) {
      assert.throws(() => opt.learningRate = lr, RangeError, `${name} learningRate = ${lr}`);
      assert.throws(() => opt.lr = lr, RangeError, `${name} lr = ${lr}`);
    }
    assert.equal(opt.learningRate, 0.1, name);
  }
  const scaled = new LossScaleOptimizer(new Adagrad({ learningRate: 0.1 }));
  assert.throws(() => scaled.learningRate = -1, RangeError);
  assert.equal(scaled.learningRate, 0.1);
});

test("a schedule's negative or NaN value refuses the step, which changes nothing", async () => {
  await withDevice(async (device) => {
    const random = rng(11);
    for (const later of [-0.1, NaN]) {
      for (const [name, make] of FACTORIES) {
        const store = new VariableStore(device);
        const w = store.variable("w", [4, 3], randomValues(random, 12));
        const opt = make(new TurnsTo(later));
        assert.equal(await opt.applyGradients([[randomValues(random, 12), w]]), 1, name);
        const weights = await w.read();
        const slots = await opt.getWeights();
        await assert.rejects(
          opt.applyGradients([[randomValues(random, 12), w]]),
          { name: "RangeError", message: /the schedule's value at step 1/ },
          `${name}, schedule turning to ${later}`,
        );
        assert.equal(opt.iterations, 1, name);
        assert.deepEqual(await w.read(), weights, name);
        assert.deepEqual(await opt.getWeights(), slots, name);
        opt.destroy();
        store.destroy();
      }
    }
  });
});
