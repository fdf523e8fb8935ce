// Every rule of src/optimizers/registry.ts, table-driven: a rule added to the registry is tested
// here by adding its one-step float64 formula below (the test fails for a rule without one). Each
// rule: its WGSL file exists; its optimizer takes a dense step on random data of a size that is
// no multiple of the workgroup, moving the weights as the formula does; its config, its
// LossScaleOptimizer config and a checkpoint round-trip to the same rule, class and bits.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AdagradBase,
  LossScaleOptimizer,
  restoreCheckpoint,
  saveCheckpoint,
  VariableStore,
} from "../../mod.ts";
import { type RegisteredRule, REGISTRY } from "../../src/optimizers/registry.ts";
import { RULE_KERNELS } from "../../src/_kernels/shaders.ts";
import { withDevice } from "../_gpu.ts";
import { assertAllClose, randomValues, rng } from "../_reference.ts";

const ROWS = 37;
const WIDTH = 5;
const LR = 0.1;

/** One dense step from fresh state: the weights after it, and each slot, in float64. */
type Formula = (w: Float32Array, g: Float32Array) => { w: number[]; slots: number[][] };

/**
 * Each rule's options besides its learning rate: a large epsilon where the rule has one, so that
 * its place (inside or outside the square root) shows at float32 precision, and optax's guard
 * with an accumulator from 0 and no epsilon (a zero gradient would be NaN without it).
 */
const OPTIONS: Record<string, Record<string, unknown>> = {
  "Adagrad:keras2": { epsilon: 0.5 },
  "Adagrad:keras3": { epsilon: 0.5 },
  "Adagrad:torch": { eps: 0.5 },
  "Adagrad:optax": { eps: 0, initialAccumulatorValue: 0 },
  "RowWiseAdagrad:keras2": { epsilon: 0.5 },
};

const elementWise = (f: (w: number, g: number) => [number, ...number[]]) =>
(
  w: Float32Array,
  g: Float32Array,
) => {
  const out = [...w].map((x, i) => f(x, g[i]));
  return {
    w: out.map((o) => o[0]),
    slots: out[0].slice(1).map((_, k) => out.map((o) => o[k + 1])),
  };
};

/** Each rule's formula with its defaults (and learning rate LR), keyed `Class:rule`. */
const FORMULAS: Record<string, Formula> = {
  // Keras 2: accum 0.1 + g^2; var - lr g / (sqrt(accum) + epsilon).
  "Adagrad:keras2": elementWise((w, g) => {
    const a = 0.1 + g * g;
    return [w - LR * g / (Math.sqrt(a) + 0.5), a];
  }),
  // Keras 3: epsilon inside the square root.
  "Adagrad:keras3": elementWise((w, g) => {
    const a = 0.1 + g * g;
    return [w - LR * g / Math.sqrt(a + 0.5), a];
  }),
  // PyTorch: sum starts at 0, eps outside.
  "Adagrad:torch": elementWise((w, g) => {
    const a = g * g;
    return [w - LR * g / (Math.sqrt(a) + 0.5), a];
  }),
  // optax: sum + g^2; var - lr g rsqrt(sum + eps), no step where the sum is 0.
  "Adagrad:optax": elementWise((w, g) => {
    const a = g * g;
    return [a > 0 ? w - LR * g / Math.sqrt(a) : w, a];
  }),
  // TF's ProximalAdagrad without L1 and L2: no epsilon.
  "ProximalAdagrad:proximal": elementWise((w, g) => {
    const a = 0.1 + g * g;
    return [w - LR * g / Math.sqrt(a), a];
  }),
  // TF's AdagradDA at T = 1 without L1 and L2: the variable from the sums alone.
  "AdagradDA:adagradDA": elementWise((_, g) => {
    const gg = 0.1 + g * g;
    return [-LR * g / Math.sqrt(gg), g, gg];
  }),
  // FBGEMM's row-wise Adagrad: one accumulator per row, the mean of the row's squares.
  "RowWiseAdagrad:keras2": (w, g) => {
    const out = [...w];
    const m: number[] = [];
    for (let r = 0; r < ROWS; r++) {
      let squares = 0;
      for (let c = 0; c < WIDTH; c++) squares += g[r * WIDTH + c] ** 2;
      m.push(0.1 + squares / WIDTH);
      const k = LR / (Math.sqrt(m[r]) + 0.5);
      for (let c = 0; c < WIDTH; c++) out[r * WIDTH + c] -= k * g[r * WIDTH + c];
    }
    return { w: out, slots: [m] };
  },
};

const key = (r: RegisteredRule) => `${r.className}:${r.rule.id}`;

/** The entry's optimizer with learning rate LR (PyTorch's option is `lr`) and OPTIONS. */
function create(entry: RegisteredRule): AdagradBase<object> {
  const more = OPTIONS[key(entry)] ?? {};
  try {
    return entry.create({ learningRate: LR, ...more });
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    return entry.create({ lr: LR, ...more });
  }
}

test("the registry lists every rule once, each with its formula here and its WGSL file", () => {
  assert.ok(REGISTRY.length >= 7);
  assert.deepEqual([...new Set(REGISTRY.map(key))].length, REGISTRY.length, "one entry each");
  for (const entry of REGISTRY) {
    assert.ok(FORMULAS[key(entry)], `${key(entry)}: add its formula to FORMULAS`);
    assert.ok(
      entry.rule.kernel in RULE_KERNELS,
      `${key(entry)}: shaders/rules/${entry.rule.kernel}`,
    );
  }
  // Every WGSL rule is some registered rule's.
  for (const kernel of Object.keys(RULE_KERNELS)) {
    assert.ok(REGISTRY.some((r) => r.rule.kernel === kernel), `shaders/rules/${kernel}.wgsl`);
  }
});

for (const entry of REGISTRY) {
  test(`${key(entry)}: a dense step matches its formula in float64, and moves the weights`, async () => {
    await withDevice(async (device, own) => {
      const random = rng(ROWS + entry.rule.id.length);
      const store = own(new VariableStore(device));
      const init = randomValues(random, ROWS * WIDTH, -1, 1);
      const g = randomValues(random, ROWS * WIDTH, -1, 1);
      // Some gradients exactly 0, and a whole row of them (optax's guard, row-wise's rows).
      for (let i = 0; i < g.length; i += 7) g[i] = 0;
      g.fill(0, 3 * WIDTH, 4 * WIDTH);
      const w = store.variable("w", [ROWS, WIDTH], init);
      const opt = own(create(entry));
      assert.equal(opt.rule, entry.rule.id);
      await opt.applyGradients([[g, w]]);
      const expected = FORMULAS[key(entry)](init, g);
      const after = await w.read();
      assert.ok(after.some((x, i) => x !== init[i]), "the weights moved");
      assertAllClose(after, expected.w, `${key(entry)} weights`, 1e-5, 1e-6);
      const names = opt.getSlotNames();
      assert.equal(names.length, expected.slots.length, "slots");
      for (const [k, name] of names.entries()) {
        const slot = await opt.getSlot(w, name).read();
        assertAllClose(slot, expected.slots[k], `${key(entry)} ${name}`, 1e-5, 1e-6);
      }
    });
  });

  test(`${key(entry)}: config, LossScaleOptimizer config and checkpoint round-trip`, async () => {
    await withDevice(async (device, own) => {
      const opt = own(create(entry));
      const again = own(entry.fromConfig(opt.getConfig() as Record<string, unknown>));
      assert.deepEqual(again.getConfig(), opt.getConfig());
      assert.equal(again.rule, opt.rule);
      assert.equal(again.constructor.name, opt.constructor.name);
      const scaled = own(
        new LossScaleOptimizer(create(entry), { dynamic: false, initialScale: 4 }),
      );
      const rebuilt = own(LossScaleOptimizer.fromConfig(scaled.getConfig()));
      assert.equal(rebuilt.innerOptimizer.rule, entry.rule.id);
      assert.deepEqual(rebuilt.getConfig(), scaled.getConfig());
      // A checkpoint of a step restores into an optimizer built from the saved config, to the bit.
      const random = rng(3);
      const store = own(new VariableStore(device));
      const w = store.variable("w", [ROWS, WIDTH], randomValues(random, ROWS * WIDTH, -1, 1));
      await opt.applyGradients([[randomValues(random, ROWS * WIDTH, -1, 1), w]]);
      const bytes = await saveCheckpoint({ variables: [w], optimizer: opt });
      const restored = own(entry.fromConfig(opt.getConfig() as Record<string, unknown>));
      restoreCheckpoint(bytes, { variables: [w], optimizer: restored });
      assert.equal(restored.iterations, 1);
      for (const name of opt.getSlotNames()) {
        assert.deepEqual(
          await restored.getSlot(w, name).read(),
          await opt.getSlot(w, name).read(),
          name,
        );
      }
    });
  });
}
