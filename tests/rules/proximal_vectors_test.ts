// TensorFlow's own numbers for its proximal Adagrads (tensorflow/python/training/
// proximal_adagrad_test.py and adagrad_da_test.py, reference adagrad_family.md sections 4.2-4.3),
// and FBGEMM's row-wise weight decay modes on the reference's vector (section 8).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AdagradBase,
  AdagradDA,
  IndexedSlices,
  ProximalAdagrad,
  RowWiseAdagrad,
  VariableStore,
} from "../../mod.ts";
import { withDevice } from "../_gpu.ts";
import { assertAllClose } from "../_reference.ts";

/** `steps` steps of `opt` on var0 and var1 from `init`, with grads0 and grads1; their values. */
async function run(
  device: GPUDevice,
  opt: AdagradBase<object>,
  init: [number[], number[]],
  grads: [number[], number[]],
  steps: number,
): Promise<number[][]> {
  const store = new VariableStore(device);
  const vars = init.map((x, i) => store.variable(`var${i}`, [2], new Float32Array(x)));
  for (let step = 0; step < steps; step++) {
    await opt.applyGradients(grads.map((g, i) => [new Float32Array(g), vars[i]] as const));
  }
  const values = await Promise.all(vars.map(async (v) => Array.from(await v.read())));
  opt.destroy();
  store.destroy();
  return values;
}

const GRADS: [number[], number[]] = [[0.1, 0.2], [0.01, 0.02]];
// TF's goldens are printed to 6-8 digits; the tolerance is their last digit.
const close = (actual: number[], expected: number[], what: string) =>
  assertAllClose(actual, expected, what, 1e-6, 2e-6);

const proximalCases = [
  {
    name: "testProximalAdagradwithoutRegularization",
    init: [[0, 0], [0, 0]],
    steps: 3,
    options: {},
    expected: [[-2.60260963, -4.29698515], [-0.28432083, -0.56694895]],
  },
  {
    name: "testProximalAdagradwithoutRegularization2",
    init: [[1, 2], [4, 3]],
    steps: 3,
    options: {},
    expected: [[-1.60261, -2.296985], [3.715679, 2.433051]],
  },
  {
    name: "testProximalAdagradWithL1",
    init: [[1, 2], [4, 3]],
    steps: 10,
    options: { l1RegularizationStrength: 0.001 },
    expected: [[-6.663634, -9.190331], [2.959304, 1.029232]],
  },
  {
    name: "testProximalAdagradWithL1_L2",
    init: [[1, 2], [4, 3]],
    steps: 10,
    options: { l1RegularizationStrength: 0.001, l2RegularizationStrength: 2.0 },
    expected: [[-0.0495, -0.0995], [-0.0045, -0.0095]],
  },
];

for (const c of proximalCases) {
  test(`ProximalAdagrad: TF's ${c.name}`, async () => {
    await withDevice(async (device) => {
      const opt = new ProximalAdagrad({
        learningRate: 3.0,
        initialAccumulatorValue: 0.1,
        ...c.options,
      });
      const [v0, v1] = await run(device, opt, c.init as [number[], number[]], GRADS, c.steps);
      close(v0, c.expected[0], "var0");
      close(v1, c.expected[1], "var1");
    });
  });
}

const daExpected = {
  none: [[-0.904534, -1.603567], [-0.094821, -0.189358]],
  l1: [[-0.895489, -1.59555], [-0.085339, -0.17989]],
  l1l2: [[-0.046907, -0.093659], [-0.004275, -0.009023]],
};

const daCases = [
  {
    name: "testAdagradDAWithoutRegularizationBasic1",
    init: [[0, 0], [0, 0]],
    options: {},
    expected: daExpected.none,
  },
  {
    name: "testAdagradDAwithoutRegularizationBasic2",
    init: [[1, 2], [4, 3]],
    options: {},
    expected: daExpected.none,
  },
  {
    name: "testAdagradDAWithL1",
    init: [[1, 2], [4, 3]],
    options: { l1RegularizationStrength: 0.001 },
    expected: daExpected.l1,
  },
  {
    name: "testAdagradDAWithL1_L2",
    init: [[1, 2], [4, 3]],
    options: { l1RegularizationStrength: 0.001, l2RegularizationStrength: 2.0 },
    expected: daExpected.l1l2,
  },
];

for (const c of daCases) {
  test(`AdagradDA: TF's ${c.name}`, async () => {
    await withDevice(async (device) => {
      const opt = new AdagradDA({
        learningRate: 3.0,
        initialGradientSquaredAccumulatorValue: 0.1,
        ...c.options,
      });
      const [v0, v1] = await run(device, opt, c.init as [number[], number[]], GRADS, 1);
      close(v0, c.expected[0], "var0");
      close(v1, c.expected[1], "var1");
    });
  });
}

test("TF's testMinimizeSparseResourceVariable: ProximalAdagrad [[0, 1]], AdagradDA [[-1, -1]]", async () => {
  await withDevice(async (device) => {
    // var [[1, 2]], x = [[4], [5]]: pred = var @ x = 14, loss = pred^2, d loss / d var = 2 * 14 * x.
    for (
      const [opt, expected, tol] of [
        [new ProximalAdagrad({ learningRate: 1.0 }), [0, 1], 0.01],
        [new AdagradDA({ learningRate: 1.0 }), [-1, -1], 0.01],
      ] as const
    ) {
      const store = new VariableStore(device);
      const v = store.variable("var", [1, 2], new Float32Array([1, 2]));
      const grad = new IndexedSlices(
        new Float32Array([2 * 14 * 4, 2 * 14 * 5]),
        new Int32Array([0]),
        [1, 2],
      );
      await opt.applyGradients([[grad, v]]);
      assertAllClose(Array.from(await v.read()), [...expected], opt.constructor.name, tol, tol);
      opt.destroy();
      store.destroy();
    }
  });
});

test("ProximalAdagrad without regularization is TF 1.x's AdagradOptimizer (testEquivAdagradwithoutRegularization)", async () => {
  await withDevice(async (device) => {
    // AdagradOptimizer(3.0, 0.1) has no epsilon: var -= lr * g / sqrt(acc), in float64 here.
    const opt = new ProximalAdagrad({ learningRate: 3.0 });
    const [v0, v1] = await run(device, opt, [[1, 2], [4, 3]], GRADS, 5);
    const expected = [[1, 2], [4, 3]].map((init, k) =>
      init.map((x, i) => {
        let acc = Math.fround(0.1);
        const g = Math.fround(GRADS[k][i]);
        for (let s = 0; s < 5; s++) {
          acc += g * g;
          x -= 3 * g / Math.sqrt(acc);
        }
        return x;
      })
    );
    assertAllClose(v0, expected[0], "var0", 2e-6, 2e-6);
    assertAllClose(v1, expected[1], "var1", 2e-6, 2e-6);
  });
});

test("RowWiseAdagrad: FBGEMM's weight decay modes on the reference vector (two steps)", async () => {
  await withDevice(async (device) => {
    const cases = {
      none: { options: {}, w: [0.0850992, -0.1701983, 0.2925496, -0.4], m: 2.625 },
      l2: {
        options: { weightDecay: 0.1, weightDecayMode: "l2" },
        w: [0.0851399, -0.1702798, 0.2922021, -0.3994115],
        m: 2.6891809,
      },
      decoupled: {
        options: { weightDecay: 0.1, weightDecayMode: "decoupled" },
        w: [0.084908, -0.169816, 0.2919542, -0.3992004],
        m: 2.625,
      },
    } as const;
    for (const [mode, c] of Object.entries(cases)) {
      const store = new VariableStore(device);
      const v = store.variable("row", [1, 4], new Float32Array([0.1, -0.2, 0.3, -0.4]));
      // FBGEMM: epsilon 1e-8, accumulator from 0.
      const opt = new RowWiseAdagrad({
        learningRate: 0.01,
        epsilon: 1e-8,
        initialAccumulatorValue: 0,
        ...c.options,
      });
      for (let step = 0; step < 2; step++) {
        await opt.applyGradients([[new Float32Array([1, -2, 0.5, 0]), v]]);
      }
      assertAllClose(Array.from(await v.read()), [...c.w], `${mode} w`, 2e-6, 2e-7);
      const m = await opt.getSlot(v, "accumulator").read();
      assertAllClose(Array.from(m), [c.m], `${mode} momentum1`, 2e-6, 0);
      opt.destroy();
      store.destroy();
    }
  });
});

test("RowWiseAdagrad maxNorm renormalises only the rows updated this step", async () => {
  await withDevice(async (device) => {
    const store = new VariableStore(device);
    // Row 0 is long and updated, row 1 long and not, row 2 short and updated.
    const init = new Float32Array([3, 4, 0, 6, 8, 0, 0.1, 0.1, 0]);
    const v = store.variable("table", [3, 3], init);
    const opt = new RowWiseAdagrad({ learningRate: 0.01, maxNorm: 1 });
    const grad = new IndexedSlices(
      new Float32Array([0.5, -0.5, 1, 0.2, 0.2, 0.2]),
      new Int32Array([0, 2]),
      [3, 3],
    );
    await opt.applyGradients([[grad, v]]);
    const out = await v.read();
    const norm = (r: number) => Math.hypot(out[3 * r], out[3 * r + 1], out[3 * r + 2]);
    assertAllClose([norm(0)], [1], "updated long row's norm", 1e-6, 0);
    assert.deepEqual(Array.from(out.subarray(3, 6)), Array.from(init.subarray(3, 6)));
    assert.ok(norm(2) < 1 && Math.abs(out[6] - 0.1) < 0.01, "short row stepped, not scaled");
    opt.destroy();
    store.destroy();
  });
});
