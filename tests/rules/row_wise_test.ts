// RowWiseAdagrad: one accumulator per row (FBGEMM EXACT_ROWWISE_ADAGRAD), against a float64
// reference, with sparse and dense gradients, duplicates, clipping, and the optimizer surface.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Adagrad,
  type AdagradOptions,
  IndexedSlices,
  RowWiseAdagrad,
  VariableStore,
} from "../../mod.ts";
import { COPY_SRC, STORAGE } from "../../src/_common/usage.ts";
import { upload, withDevice } from "../_gpu.ts";
import { assertMoved } from "../_moved.ts";
import {
  assertAllClose,
  assertCloseL2,
  type Clip,
  randomIndices,
  randomValues,
  refClip,
  refRowWiseStep,
  type RefState,
  rng,
} from "../_reference.ts";

function rowState(init: Float32Array, rows: number, initial: number): RefState {
  return {
    value: Float64Array.from(init),
    accum: new Float64Array(rows).fill(Math.fround(initial)),
  };
}

for (const clip of [{}, { clipvalue: 0.4 }, { clipnorm: 3 }, { globalClipnorm: 5 }] as Clip[]) {
  test(`RowWiseAdagrad ${JSON.stringify(clip)}: sparse and dense gradients, float64 reference`, async () => {
    await withDevice(async (device) => {
      const random = rng(21);
      const store = new VariableStore(device);
      const [rows, width] = [2000, 33];
      const tableInit = randomValues(random, rows * width);
      const denseInit = randomValues(random, 300 * 7);
      const vecInit = randomValues(random, 500);
      const table = store.variable("table", [rows, width], tableInit);
      const dense = store.variable("dense", [300, 7], denseInit);
      const vec = store.variable("vec", [500], vecInit);
      const opts = { learningRate: 0.05, initialAccumulatorValue: 0.2, ...clip } as AdagradOptions;
      const opt = new RowWiseAdagrad(opts);
      const states = [
        rowState(tableInit, rows, 0.2),
        rowState(denseInit, 300, 0.2),
        rowState(vecInit, 500, 0.2),
      ];
      const touched = new Set<number>();
      const buffers: GPUBuffer[] = [];
      for (let step = 0; step < 3; step++) {
        const indices = randomIndices(random, 1500, rows, 30);
        indices.forEach((i) => touched.add(i));
        const values = randomValues(random, 1500 * width);
        const gDense = randomValues(random, 300 * 7);
        const gVec = randomValues(random, 500);
        // The forms rotate: CPU arrays, GPU buffers, and the variable's own grad region.
        let slices = new IndexedSlices(values, indices, [rows, width]);
        let denseGrad: Float32Array | GPUBuffer = gDense;
        if (step === 1) {
          const [vb, ib, db] = [
            upload(device, values),
            upload(device, indices),
            upload(device, gDense),
          ];
          buffers.push(vb, ib, db);
          slices = new IndexedSlices(vb, ib, [rows, width]);
          denseGrad = db;
        }
        if (step === 2) device.queue.writeBuffer(vec.grad.buffer, vec.grad.offset, gVec);
        await opt.applyGradients([
          [slices, table],
          [denseGrad, dense],
          [step === 2 ? vec.grad : gVec, vec],
        ]);
        const [c0, c1, c2] = refClip([values, gDense, gVec].map((g) => Float64Array.from(g)), clip);
        refRowWiseStep(states[0], width, indices, c0, 0.05, 1e-7);
        refRowWiseStep(states[1], 7, null, c1, 0.05, 1e-7);
        refRowWiseStep(states[2], 1, null, c2, 0.05, 1e-7);
      }
      for (const [i, v] of [table, dense, vec].entries()) {
        const slot = opt.getSlot(v, "accumulator");
        assert.deepEqual(slot.shape, [v.shape[0]], `${v.name}: one accumulator per row`);
        assertCloseL2(await v.read(), states[i].value, 2e-6, `${v.name} variable`);
        assertCloseL2(await slot.read(), states[i].accum, 2e-6, `${v.name} accumulator`);
      }
      // Rows never touched keep their bits, in the variable and in the row accumulator.
      const value = await table.read();
      const accum = await opt.getSlot(table, "accumulator").read();
      let untouched = 0;
      for (let r = 0; r < rows; r++) {
        if (touched.has(r)) continue;
        untouched++;
        assert.equal(accum[r], Math.fround(0.2), `row ${r} accumulator`);
        for (let c = 0; c < width; c++) {
          assert.ok(Object.is(value[r * width + c], tableInit[r * width + c]), `row ${r}`);
        }
      }
      assert.ok(untouched > 0);
      for (const b of buffers) b.destroy();
      opt.destroy();
      store.destroy();
    });
  });
}

test("RowWiseAdagrad on rank-1 variables is Adagrad (rows of one element)", async () => {
  await withDevice(async (device) => {
    const random = rng(2);
    const init = randomValues(random, 1000);
    const store = new VariableStore(device);
    const a = store.variable("a", [1000], init);
    const b = store.variable("b", [1000], init);
    const rowWise = new RowWiseAdagrad({ learningRate: 0.1 });
    const plain = new Adagrad({ learningRate: 0.1 });
    for (let step = 0; step < 3; step++) {
      const g = randomValues(random, 1000);
      const indices = randomIndices(random, 300, 1000, 10);
      const values = randomValues(random, 300);
      await rowWise.applyGradients([[g, a]]);
      await plain.applyGradients([[g, b]]);
      await rowWise.applyGradients([[new IndexedSlices(values, indices, [1000]), a]]);
      await plain.applyGradients([[new IndexedSlices(values, indices, [1000]), b]]);
    }
    // Equal up to the order of float32 operations (lr / d * g against g * lr / d).
    assertAllClose(await a.read(), await b.read(), "variable", 1e-6, 1e-6);
    assertMoved(await a.read(), init, "variable"); // two optimizers that did nothing would agree
    assertAllClose(
      await rowWise.getSlot(a, "accumulator").read(),
      await plain.getSlot(b, "accumulator").read(),
      "accumulator",
    );
    rowWise.destroy();
    plain.destroy();
    store.destroy();
  });
});

test("RowWiseAdagrad surface: name, config, weights, addSlot; own buffers refused", async () => {
  await withDevice(async (device) => {
    const store = new VariableStore(device);
    const table = store.variable("emb/table", [50, 4], 1);
    const opt = new RowWiseAdagrad({ learningRate: 0.2, epsilon: 1e-8, device });
    assert.equal(opt.name, "RowWiseAdagrad");
    assert.equal(new RowWiseAdagrad({ name: "rw" }).name, "rw");
    const config = opt.getConfig();
    assert.equal(config.name, "RowWiseAdagrad");
    const copy = RowWiseAdagrad.fromConfig(config);
    assert.ok(copy instanceof RowWiseAdagrad);
    assert.deepEqual(copy.getConfig(), config);
    assert.throws(() => new RowWiseAdagrad({ epsilon: -1 }), RangeError);
    assert.throws(() => new RowWiseAdagrad(3 as never), TypeError);

    const slot = opt.addSlot(table, "accumulator", 0.5);
    assert.deepEqual(slot.shape, [50]);
    assert.equal(slot.name, "emb/table/accumulator");
    assert.deepEqual(await slot.read(), new Float32Array(50).fill(0.5));
    const weights = await opt.getWeights();
    assert.equal(weights.length, 2);
    assert.equal((weights[1] as Float32Array).length, 50);
    opt.setWeights([7, new Float32Array(50).fill(2)]);
    assert.equal(opt.iterations, 7);
    assert.deepEqual(await slot.read(), new Float32Array(50).fill(2));

    const own = device.createBuffer({ size: 64, usage: STORAGE | COPY_SRC });
    const before = await table.read();
    await assert.rejects(
      opt.applyGradients([[new Float32Array(200), table], [new Float32Array(16), own]]),
      { name: "TypeError", message: /row-wise accumulators need the variable's shape/ },
    );
    assert.throws(() => opt.addSlot(own, "accumulator"), TypeError);
    assert.equal(opt.iterations, 7);
    assert.deepEqual(await table.read(), before);
    own.destroy();
    opt.destroy();
    store.destroy();
  });
});

test("a subclass of RowWiseAdagrad keeps one accumulator per row", async () => {
  await withDevice(async (device, own) => {
    class MyRowWise extends RowWiseAdagrad {}
    const store = own(new VariableStore(device));
    const table = store.variable("emb", [30, 5], 1);
    const opt = own(new MyRowWise({ learningRate: 0.1, initialAccumulatorValue: 0 }));
    const g = new IndexedSlices(new Float32Array(2 * 5).fill(2), new Int32Array([4, 9]), [30, 5]);
    await opt.applyGradients([[g, table]]);
    const accumulator = opt.getSlot(table, "accumulator");
    assert.deepEqual(accumulator.shape, [30]);
    const want = new Float32Array(30);
    want[4] = want[9] = 4; // mean of the row's squares
    assert.deepEqual(await accumulator.read(), want);
  });
});
