// Keras's own Adagrad test vectors (keras/optimizer_v2/adagrad_test.py, TF 2.6-2.10), with the
// expected values of its float64 reference and TF's tolerance for float32 (1e-6).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Adagrad, VariableStore } from "../../mod.ts";
import { withDevice } from "../_gpu.ts";
import { assertAllClose } from "../_reference.ts";

const BASIC = [
  {
    var0: [0.09546623899389961, 1.0954662389938996],
    var1: [2.9051790987838686, 3.9051790987838686],
  },
  {
    var0: [-0.7705589147906112, 0.22944108520938877],
    var1: [2.8104055251829942, 3.8104055251829942],
  },
  {
    var0: [-1.6026089783592883, -0.6026089783592882],
    var1: [2.715679208400653, 3.715679208400653],
  },
];

async function runBasic(
  device: GPUDevice,
  opt: Adagrad,
  expected: { var0: number[]; var1: number[] }[],
  accums?: [number, number][],
) {
  const store = new VariableStore(device);
  const var0 = store.variable("var0", [2], new Float32Array([1, 2]));
  const var1 = store.variable("var1", [2], new Float32Array([3, 4]));
  for (let step = 0; step < expected.length; step++) {
    await opt.applyGradients([
      [new Float32Array([0.1, 0.1]), var0],
      [new Float32Array([0.01, 0.01]), var1],
    ]);
    assertAllClose(await var0.read(), expected[step].var0, `var0 after step ${step + 1}`);
    assertAllClose(await var1.read(), expected[step].var1, `var1 after step ${step + 1}`);
    if (accums) {
      const [a0, a1] = accums[step];
      assertAllClose(await opt.getSlot(var0, "accumulator").read(), [a0, a0], "accum0");
      assertAllClose(await opt.getSlot(var1, "accumulator").read(), [a1, a1], "accum1");
    }
  }
  assert.equal(opt.iterations, expected.length);
  store.destroy();
}

test("testBasic: lr 3.0, three steps, accumulators 0.11/0.12/0.13", async () => {
  await withDevice(async (device, own) => {
    await runBasic(device, own(new Adagrad({ learningRate: 3.0 })), BASIC, [
      [0.11, 0.1001],
      [0.12, 0.1002],
      [0.13, 0.1003],
    ]);
  });
});

test("testBasic float32 kernel bits: step 3 matches TF's CPU kernel within an ulp", async () => {
  await withDevice(async (device) => {
    const store = new VariableStore(device);
    const var0 = store.variable("var0", [2], new Float32Array([1, 2]));
    const opt = new Adagrad({ learningRate: 3.0 });
    for (let i = 0; i < 3; i++) await opt.applyGradients([[new Float32Array([0.1, 0.1]), var0]]);
    // TF's CPU op in float32 gives [-1.6026091575622559, -0.6026092171669006].
    assertAllClose(await var0.read(), [-1.6026091575622559, -0.6026092171669006], "var0", 2e-7, 0);
    opt.destroy();
    store.destroy();
  });
});

test("testBasicWithLearningRateDecay: Adagrad(3.0, decay=0.5), lr 3.0, 2.0, 1.5", async () => {
  await withDevice(async (device, own) => {
    const opt = own(new Adagrad({ learningRate: 3.0, decay: 0.5 }));
    await runBasic(device, opt, [
      BASIC[0],
      {
        var0: [-0.4818838635291075, 0.5181161364708925],
        var1: [2.841996716383286, 3.841996716383286],
      },
      {
        var0: [-0.897908895313446, 0.10209110468655402],
        var1: [2.7946335579921153, 3.7946335579921153],
      },
    ]);
  });
});

test("testBasicWithLargeEpsilon: Adagrad(3.0, epsilon=1.0)", async () => {
  await withDevice(async (device, own) => {
    const opt = own(new Adagrad({ learningRate: 3.0, epsilon: 1.0 }));
    await runBasic(device, opt, [
      {
        var0: [0.7747176895625415, 1.7747176895625416],
        var1: [2.977210329160722, 3.977210329160722],
      },
      {
        var0: [0.5519029718967832, 1.5519029718967832],
        var1: [2.9544233932580846, 3.9544233932580846],
      },
      {
        var0: [0.33140474001623105, 1.331404740016231],
        var1: [2.9316391902718313, 3.9316391902718313],
      },
    ]);
  });
});

test("testSharing: two call sites of one optimizer share accumulators", async () => {
  await withDevice(async (device) => {
    const store = new VariableStore(device);
    const var0 = store.variable("var0", [2], new Float32Array([1, 2]));
    const var1 = store.variable("var1", [2], new Float32Array([3, 4]));
    const opt = new Adagrad({ learningRate: 3.0 });
    const update1 = () =>
      opt.applyGradients([
        [new Float32Array([0.1, 0.1]), var0],
        [new Float32Array([0.01, 0.01]), var1],
      ]);
    // A second call site that passes the gradients as GPU regions instead.
    const update2 = async () => {
      var0.grad.buffer; // allocate
      device.queue.writeBuffer(var0.grad.buffer, var0.grad.offset, new Float32Array([0.1, 0.1]));
      device.queue.writeBuffer(var1.grad.buffer, var1.grad.offset, new Float32Array([0.01, 0.01]));
      await opt.applyGradients([[var0.grad, var0], [var1.grad, var1]]);
    };
    await update1();
    await update2();
    await update1();
    assertAllClose(await var0.read(), BASIC[2].var0, "var0");
    assertAllClose(await var1.read(), BASIC[2].var1, "var1");
    opt.destroy();
    store.destroy();
  });
});

test("defaults and config match Keras's get_config()", () => {
  const opt = new Adagrad();
  assert.deepEqual(opt.getConfig(), {
    name: "Adagrad",
    learning_rate: 0.001,
    decay: 0,
    initial_accumulator_value: 0.1,
    epsilon: 1e-7,
  });
  // epsilon 0 means the backend epsilon, as `epsilon or backend_config.epsilon()` does.
  assert.equal(new Adagrad({ epsilon: 0 }).epsilon, 1e-7);
});

test("fromConfig loads a config as Python Keras writes it, and round-trips", () => {
  const python = {
    name: "Adagrad",
    learning_rate: 0.05000000074505806,
    decay: 0.0,
    initial_accumulator_value: 0.2,
    epsilon: 1e-7,
    is_legacy_optimizer: true,
  };
  const opt = Adagrad.fromConfig(python);
  assert.equal(opt.learningRate, 0.05000000074505806);
  assert.equal(opt.initialAccumulatorValue, 0.2);
  assert.deepEqual(Adagrad.fromConfig({ ...opt.getConfig() }).getConfig(), opt.getConfig());
  // Keras fills a missing initial_accumulator_value with 0.1, and `lr` wins over learning_rate.
  assert.equal(Adagrad.fromConfig({ learning_rate: 0.1 }).initialAccumulatorValue, 0.1);
  assert.equal(Adagrad.fromConfig({ learning_rate: 0.1, lr: 1.0 }).learningRate, 1.0);
  // TF.js's camelCase keys.
  assert.equal(Adagrad.fromConfig({ learningRate: 0.3 }).learningRate, 0.3);
  assert.throws(() => Adagrad.fromConfig({ momentum: 0.9 }), TypeError);
});
