// Keras's optimizer surface: weights, get/set_weights (with Adagrad's Keras 1 override),
// add_slot, add_weight, minimize and the missing-gradient warning; after destroy(), every read
// refuses with the step's error (never zeros).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Adagrad,
  IndexedSlices,
  restoreCheckpoint,
  RowWiseAdagrad,
  saveCheckpoint,
  type Variable,
  VariableStore,
} from "../../mod.ts";
import { readFloats } from "../../src/device/_transfer.ts";
import { withDevice } from "../_gpu.ts";
import { skippingVariables } from "../_console.ts";
import { assertCloseL2, randomValues, refState, refStep, rng } from "../_reference.ts";

async function silently<T>(fn: () => Promise<T>): Promise<{ result: T; warnings: string[] }> {
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => warnings.push(args.join(" "));
  try {
    return { result: await fn(), warnings };
  } finally {
    console.warn = warn;
  }
}

test("weights: iter, then slots in creation order; getWeights/setWeights carry training on", async () => {
  await withDevice(async (device) => {
    const random = rng(41);
    const store = new VariableStore(device);
    const initW = randomValues(random, 777);
    const initB = randomValues(random, 5);
    const w = store.variable("dense/kernel", [7, 111], initW);
    const b = store.variable("dense/bias", [5], initB);
    const opt = new Adagrad({ learningRate: 0.1 });
    const refW = refState(initW, 0.1);
    const refB = refState(initB, 0.1);
    const lr = Math.fround(0.1);
    const eps = Math.fround(1e-7);
    // b gets its slot first: slot order follows creation, not the order of the pairs later.
    const gb0 = randomValues(random, 5);
    await opt.applyGradients([[gb0, b]]);
    refStep(refB, gb0, lr, eps);
    for (let i = 0; i < 2; i++) {
      const gw = randomValues(random, 777);
      const gb = randomValues(random, 5);
      await opt.applyGradients([[gw, w], [gb, b]]);
      refStep(refW, gw, lr, eps);
      refStep(refB, gb, lr, eps);
    }
    assert.deepEqual(opt.weights.map((x) => x.name), [
      "iter",
      "dense/bias/accumulator",
      "dense/kernel/accumulator",
    ]);
    assert.deepEqual(opt.variables().map((x) => x.shape), [[], [5], [7, 111]]);
    const saved = await opt.getWeights();
    assert.equal(saved[0], 3);
    assertCloseL2(saved[1], refB.accum, 1e-5, "saved bias accumulator");
    assertCloseL2(saved[2], refW.accum, 1e-5, "saved kernel accumulator");

    // A second optimizer, its slots made up front, takes the weights and continues identically.
    const w2 = store.variable("copy/kernel", [7, 111], await w.read());
    const b2 = store.variable("copy/bias", [5], await b.read());
    const opt2 = new Adagrad({ learningRate: 0.1, decay: 0.5 });
    opt2.addSlot(b2, "accumulator");
    opt2.addSlot(w2, "accumulator");
    opt2.setWeights(saved);
    assert.equal(opt2.iterations, 3);
    assert.equal(opt2.currentLearningRate, Math.fround(0.1 / (1 + 0.5 * 3)));
    const gw = randomValues(random, 777);
    await skippingVariables(() => opt2.applyGradients([[gw, w2], [null, b2]]));
    refStep(refW, gw, Math.fround(0.1 / 2.5), eps);
    assertCloseL2(await w2.read(), refW.value, 1e-5, "kernel after restore");
    opt.destroy();
    opt2.destroy();
    store.destroy();
  });
});

test("setWeights: a Keras 1 list (no iteration count) sets iterations to 0; bad lists change nothing", async () => {
  await withDevice(async (device) => {
    const store = new VariableStore(device);
    const v = store.variable("v", [4], 1);
    const opt = new Adagrad();
    await opt.applyGradients([[new Float32Array([1, 2, 3, 4]), v]]);
    await opt.applyGradients([[new Float32Array([1, 2, 3, 4]), v]]);
    const before = await opt.getWeights();
    assert.throws(
      () => opt.setWeights([1, new Float32Array(4), new Float32Array(4)]),
      /^RangeError: You called `set_weights\(weights\)` on optimizer Adagrad with a weight list of length 3, but the optimizer was expecting 2 weights\.$/,
    );
    assert.throws(
      () => opt.setWeights([5, new Float32Array(3)]),
      /^TypeError: Optimizer weight shape \[4\] not compatible with provided weight shape \[3\]/,
    );
    assert.throws(() => opt.setWeights([-1, new Float32Array(4)]), RangeError);
    assert.throws(() => opt.setWeights([1.5, new Float32Array(4)]), RangeError);
    assert.deepEqual(await opt.getWeights(), before, "a rejected setWeights changed the state");
    const accum = new Float32Array([0.5, 0.25, 0.125, 2]);
    opt.setWeights([accum]);
    assert.equal(opt.iterations, 0);
    assert.deepEqual(await opt.getSlot(v, "accumulator").read(), accum);
    opt.destroy();
    store.destroy();
  });
});

test("addSlot creates the accumulator before the first step, with its own initial value", async () => {
  await withDevice(async (device) => {
    const random = rng(5);
    const store = new VariableStore(device);
    const init = randomValues(random, 300);
    const v = store.variable("v", [300], init);
    const opt = new Adagrad({ learningRate: 0.2 });
    const slot = opt.addSlot(v, "accumulator", 0.7);
    assert.equal(opt.addSlot(v, "accumulator"), slot, "a second addSlot returns the same slot");
    assert.deepEqual(await slot.read(), new Float32Array(300).fill(0.7));
    assert.throws(() => opt.addSlot(v, "momentum"), RangeError);
    const ref = refState(init, 0.7);
    const g = randomValues(random, 300);
    await opt.applyGradients([[g, v]]);
    refStep(ref, g, Math.fround(0.2), Math.fround(1e-7));
    assertCloseL2(await v.read(), ref.value, 1e-5, "v");
    // addWeight: a weight of the optimizer's own, listed and saved after the slots.
    const extra = opt.addWeight("ema_decay", [2], 0.99);
    assert.deepEqual(opt.weights.map((x) => x.name), ["iter", "v/accumulator", "ema_decay"]);
    assert.deepEqual((await opt.getWeights())[2], new Float32Array([0.99, 0.99]));
    assert.deepEqual(extra.shape, [2]);
    opt.destroy();
    store.destroy();
  });
});

/** A fixed gradient of `n` elements, different for each seed. */
const gradient = (n: number, seed: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(seed + 1.7 * i) / 2);

test("reads after destroy() refuse with the step's TypeError, never zeros", async () => {
  await withDevice(async (device, own) => {
    const store = own(new VariableStore(device));
    const w = store.variable("dense/kernel", [5], gradient(5, 1));
    const table = store.variable("table", [10, 3], 0.5);
    const opt = new Adagrad({ learningRate: 0.1, skipNonFinite: true });
    await opt.applyGradients([
      [gradient(5, 2), w],
      [new IndexedSlices(gradient(6, 3), new Int32Array([1, 4]), [10, 3]), table],
    ]);
    const extra = opt.addWeight("extra", [2], 3);
    const slot = opt.getSlot(w, "accumulator");
    const saved = await saveCheckpoint({ variables: [w, table], optimizer: opt });
    opt.destroy();
    const destroyed = { name: "TypeError", message: /Adagrad 'Adagrad' was destroyed/ };
    await assert.rejects(opt.getWeights(), destroyed, "getWeights");
    assert.throws(() => slot.read(), destroyed, "slot.read");
    assert.throws(() => slot.write(1), destroyed, "slot.write");
    assert.throws(() => extra.read(), destroyed, "an addWeight weight");
    await assert.rejects(saveCheckpoint({ variables: [w], optimizer: opt }), destroyed);
    await assert.rejects(opt.skippedSteps(), destroyed, "skippedSteps");
    await assert.rejects(opt.skippedIndices(), destroyed, "skippedIndices");
    await assert.rejects(opt.applyGradients([[gradient(5, 4), w]]), destroyed, "a step");
    assert.throws(() => restoreCheckpoint(saved, { variables: [w, table], optimizer: opt }));
    assert.equal(opt.iterations, 1);
  });
});

test("minimize: the caller computes the gradients; errors as applyGradients", async () => {
  await withDevice(async (device) => {
    const store = new VariableStore(device);
    const a = store.variable("a", [3], 1);
    const b = store.variable("b", [2], 1);
    const opt = new Adagrad({ learningRate: 1.0 });
    const iterations = await skippingVariables(() =>
      opt.minimize(() => [new Float32Array([0.5, 0.5, 0.5]), null], [a, b])
    );
    assert.equal(iterations, 1);
    assert.ok((await a.read()).every((x) => x < 1));
    assert.deepEqual(await b.read(), new Float32Array([1, 1]));
    await assert.rejects(
      opt.minimize(() => Promise.resolve([null]), [a, b]),
      /expected 2 gradients/,
    );
    await assert.rejects(
      opt.minimize(() => [null, null], [a, b]),
      /No gradients provided for any variable/,
    );
    assert.equal(opt.iterations, 1);
    opt.destroy();
    store.destroy();
  });
});

test("missing gradients: Keras's warning, once per set of names", async () => {
  await withDevice(async (device) => {
    const store = new VariableStore(device);
    const vars: Variable[] = ["x", "y", "z"].map((n) => store.variable(n, [2], 1));
    const opt = new Adagrad();
    const { warnings } = await silently(async () => {
      for (let i = 0; i < 3; i++) {
        await opt.applyGradients([[vars[0].grad, vars[0]], [null, vars[1]], [null, vars[2]]]);
      }
      await opt.applyGradients([[vars[0].grad, vars[0]], [vars[1].grad, vars[1]], [null, vars[2]]]);
    });
    assert.deepEqual(warnings, [
      "Gradients do not exist for variables ['y', 'z'] when minimizing the loss.",
      "Gradients do not exist for variables ['z'] when minimizing the loss.",
    ]);
    opt.destroy();
    store.destroy();
  });
});

test("gradient regions keep their contents after a step: in place, uploaded, clipped", async () => {
  await withDevice(async (device, own) => {
    const random = rng(47);
    const store = own(new VariableStore(device));
    const a = store.variable("persist/a", [100, 3], randomValues(random, 300));
    const b = store.variable("persist/b", [41], randomValues(random, 41));
    const inPlace = randomValues(random, 300).map((x) => 5 * x); // clipped by clipnorm below
    const uploaded = randomValues(random, 41);
    device.queue.writeBuffer(a.grad.buffer, a.grad.offset, inPlace);
    const read = (v: Variable) => readFloats(device, v.grad.buffer, v.grad.offset, v.byteLength);
    // RowWiseAdagrad reads dense gradients where they lie too (its row kernel, in place).
    const optimizers = [
      new Adagrad({ clipnorm: 0.5 }),
      new Adagrad({ clipvalue: 0.1 }),
      new RowWiseAdagrad({ clipnorm: 0.5 }),
    ];
    for (const opt of optimizers) {
      own(opt);
      await opt.applyGradients([[a.grad, a], [uploaded, b]]);
      // b skipped: its region stays too.
      await skippingVariables(() => opt.applyGradients([[a.grad, a], [null, b]]));
      assert.deepEqual(await read(a), inPlace); // the kernel clips a copy, never the region
      assert.deepEqual(await read(b), uploaded); // what applyGradients uploaded stays
    }
  });
});
