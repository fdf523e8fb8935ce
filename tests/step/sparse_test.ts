// Sparse gradients (IndexedSlices): Keras's clip, then sum duplicates, then update each touched
// row once, against a float64 reference on random data with many duplicates; untouched rows keep
// their bits; indices and values from the CPU or from GPU buffers.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Adagrad,
  type AdagradOptions,
  type GradientPair,
  IndexedSlices,
  type Variable,
  VariableStore,
} from "../../mod.ts";
import { STORAGE } from "../../src/_common/usage.ts";
import { Snapshot, upload, withDevice } from "../_gpu.ts";
import { assertMoved } from "../_moved.ts";
import {
  assertAllClose,
  assertCloseL2,
  type Clip,
  randomIndices,
  randomValues,
  refClip,
  refSparseStep,
  refState,
  refStep,
  rng,
} from "../_reference.ts";

/** Reads a variable and its accumulator. */
async function readState(opt: Adagrad, v: Variable) {
  return {
    value: await v.read(),
    accum: await opt.getSlot(v, "accumulator").read(),
  };
}

/** Asserts every row never listed in `touched` holds exactly its initial bits. */
function assertUntouched(
  actual: { value: Float32Array; accum: Float32Array },
  init: Float32Array,
  initialAccumulator: number,
  width: number,
  touched: Set<number>,
  what: string,
) {
  const a = Math.fround(initialAccumulator);
  const rows = init.length / width;
  let checked = 0;
  for (let row = 0; row < rows; row++) {
    if (touched.has(row)) continue;
    for (let c = 0; c < width; c++) {
      const k = row * width + c;
      if (!Object.is(actual.value[k], init[k]) || actual.accum[k] !== a) {
        assert.fail(`${what}: untouched row ${row} changed at column ${c}`);
      }
    }
    checked++;
  }
  assert.ok(checked > 0, `${what}: every row was touched; the check would be empty`);
}

interface Case {
  name: string;
  shape: number[];
  nnz: number;
  pool: number;
  form: "int32" | "uint32" | "gpu";
}

const CASES: Case[] = [
  { name: "rank 1, 3000 indices over few rows", shape: [1000], nnz: 3000, pool: 37, form: "int32" },
  {
    name: "rows of 3x100, repeats and single touches",
    shape: [5000, 3, 100],
    nnz: 700,
    pool: 20,
    form: "uint32",
  },
  {
    name: "rows of 65, 2500 indices (several sort blocks), on the GPU",
    shape: [20000, 65],
    nnz: 2500,
    pool: 100,
    form: "gpu",
  },
  {
    name: "rows of 7, 513 indices (one past a sort block)",
    shape: [3001, 7],
    nnz: 513,
    pool: 5,
    form: "int32",
  },
];

for (const c of CASES) {
  test(`IndexedSlices, ${c.name}: float64 reference, untouched rows bit-exact`, async () => {
    await withDevice(async (device) => {
      const random = rng(c.nnz + c.shape[0]);
      const rows = c.shape[0];
      const width = c.shape.slice(1).reduce((a, b) => a * b, 1);
      const init = randomValues(random, rows * width);
      const store = new VariableStore(device);
      const v = store.variable("table", c.shape, init);
      const opt = new Adagrad({ learningRate: 0.05 });
      const state = refState(init, 0.1);
      const touched = new Set<number>();
      const buffers: GPUBuffer[] = [];
      for (let step = 0; step < 3; step++) {
        const indices = randomIndices(random, c.nnz, rows, c.pool);
        const values = randomValues(random, c.nnz * width);
        indices.forEach((i) => touched.add(i));
        let slices: IndexedSlices;
        if (c.form === "gpu") {
          const [vb, ib] = [upload(device, values), upload(device, indices)];
          buffers.push(vb, ib);
          slices = new IndexedSlices({ buffer: vb }, ib, c.shape);
        } else {
          const typed = c.form === "uint32" ? Uint32Array.from(indices) : indices;
          slices = new IndexedSlices(values, typed, c.shape);
        }
        await opt.applyGradients([[slices, v]]);
        refSparseStep(state, width, indices, values, 0.05, 1e-7);
      }
      const actual = await readState(opt, v);
      assertCloseL2(actual.value, state.value, 1e-6, "variable");
      assertCloseL2(actual.accum, state.accum, 1e-6, "accumulator");
      assertUntouched(actual, init, 0.1, width, touched, c.name);
      assert.equal(await opt.skippedIndices(), 0);
      for (const b of buffers) b.destroy();
      opt.destroy();
      store.destroy();
    });
  });
}

test("sparse and dense gradients in one call, across arenas and a caller's buffer", async () => {
  await withDevice(async (device) => {
    const random = rng(7);
    const store = new VariableStore(device, { maxArenaBytes: 128 * 1024 });
    const specs = [
      { name: "emb1", shape: [2000, 8] },
      { name: "dense", shape: [1234] },
      { name: "emb2", shape: [500, 33] },
    ];
    const inits = specs.map((s) => randomValues(random, s.shape.reduce((a, b) => a * b, 1)));
    const vars = specs.map((s, i) => store.variable(s.name, s.shape, inits[i]));
    // A caller's buffer with a sparse table of 300 rows of 5 and a dense vector of 777.
    const extInit = randomValues(random, 1500 + 777);
    const ext = upload(device, extInit);
    const extTable = { buffer: ext, offset: 0, size: 6000, name: "ext/table" };
    const extDense = { buffer: ext, offset: 6000, size: 777 * 4, name: "ext/dense" };
    const opt = new Adagrad({ learningRate: 0.02, initialAccumulatorValue: 0.3 });
    const states = [...inits, extInit.subarray(0, 1500), extInit.subarray(1500)].map((x) =>
      refState(x, 0.3)
    );
    for (let step = 0; step < 3; step++) {
      const i1 = randomIndices(random, 600, 2000, 10);
      const v1 = randomValues(random, 600 * 8);
      const i2 = randomIndices(random, 90, 500, 3);
      const v2 = randomValues(random, 90 * 33);
      const i3 = randomIndices(random, 40, 300, 4);
      const v3 = randomValues(random, 40 * 5);
      const gd = randomValues(random, 1234);
      const ge = randomValues(random, 777);
      const pairs: GradientPair[] = [
        [new IndexedSlices(v1, i1, [2000, 8]), vars[0]],
        [gd, vars[1]],
        [new IndexedSlices(v2, i2, [500, 33]), vars[2]],
        [new IndexedSlices(v3, i3, [300, 5]), extTable],
        [ge, extDense],
      ];
      await opt.applyGradients(pairs);
      refSparseStep(states[0], 8, i1, v1, 0.02, 1e-7);
      refStep(states[1], gd, 0.02, 1e-7);
      refSparseStep(states[2], 33, i2, v2, 0.02, 1e-7);
      refSparseStep(states[3], 5, i3, v3, 0.02, 1e-7);
      refStep(states[4], ge, 0.02, 1e-7);
    }
    assert.ok(store.arenaCount >= 2, "the variables span several arenas");
    for (const [i, v] of vars.entries()) {
      const { value, accum } = await readState(opt, v);
      assertCloseL2(value, states[i].value, 1e-6, `${v.name} variable`);
      assertCloseL2(accum, states[i].accum, 1e-6, `${v.name} accumulator`);
    }
    const extNow = await new Snapshot(device).slice({
      buffer: ext,
      offset: 0,
      byteLength: ext.size,
    });
    assertCloseL2(extNow.subarray(0, 1500), states[3].value, 1e-6, "ext/table");
    assertCloseL2(extNow.subarray(1500), states[4].value, 1e-6, "ext/dense");
    const extAccum = await opt.getSlot(extTable, "accumulator").read();
    assertCloseL2(extAccum, states[3].accum, 1e-6, "ext/table accumulator");
    opt.destroy();
    store.destroy();
    ext.destroy();
  });
});

const CLIPS: Clip[] = [
  { clipvalue: 0.3 },
  { clipnorm: 2 },
  { globalClipnorm: 3 },
  { clipvalue: 0.5, clipnorm: 1 },
  { clipvalue: 0.5, globalClipnorm: 2 },
];

for (const clip of CLIPS) {
  test(`clipping ${JSON.stringify(clip)} with sparse gradients: on the raw value rows`, async () => {
    await withDevice(async (device) => {
      const random = rng(11);
      const store = new VariableStore(device);
      const shapes = [[400, 9], [777], [60]];
      const inits = shapes.map((s) => randomValues(random, s.reduce((a, b) => a * b, 1)));
      const vars = shapes.map((s, i) => store.variable(`v${i}`, s, inits[i]));
      const opt = new Adagrad({ learningRate: 0.1, ...clip } as AdagradOptions);
      const states = inits.map((x) => refState(x, 0.1));
      for (let step = 0; step < 3; step++) {
        // Many duplicates, so clipping before or after the sum would differ.
        const i0 = randomIndices(random, 5000, 400, 6);
        const v0 = randomValues(random, 5000 * 9);
        const g1 = randomValues(random, 777);
        const i2 = randomIndices(random, 90, 60, 2);
        const v2 = randomValues(random, 90);
        await opt.applyGradients([
          [new IndexedSlices(v0, i0, [400, 9]), vars[0]],
          [g1, vars[1]],
          [new IndexedSlices(v2, Uint32Array.from(i2), [60]), vars[2]],
        ]);
        const [c0, c1, c2] = refClip([v0, g1, v2].map((g) => Float64Array.from(g)), clip);
        refSparseStep(states[0], 9, i0, c0, 0.1, 1e-7);
        refStep(states[1], c1, 0.1, 1e-7);
        refSparseStep(states[2], 1, i2, c2, 0.1, 1e-7);
      }
      for (const [i, v] of vars.entries()) {
        const { value, accum } = await readState(opt, v);
        assertCloseL2(value, states[i].value, 2e-6, `${v.name} variable`);
        assertCloseL2(accum, states[i].accum, 2e-6, `${v.name} accumulator`);
      }
      opt.destroy();
      store.destroy();
    });
  });
}

test("clipnorm counts duplicates separately (keras_adagrad.md 3.3): [[3],[4]] at [0,0] -> 1.4", async () => {
  await withDevice(async (device) => {
    const store = new VariableStore(device);
    const v = store.variable("v", [2, 1], new Float32Array([1, 2]));
    const opt = new Adagrad({ learningRate: 1, clipnorm: 1 });
    await opt.applyGradients([
      [new IndexedSlices(new Float32Array([3, 4]), new Int32Array([0, 0]), [2, 1]), v],
    ]);
    // Clipped to 0.6 and 0.8, summed to 1.4; the dense gradient 7 would have clipped to 1.
    const accum = 0.1 + 1.4 * 1.4;
    assertAllClose(await opt.getSlot(v, "accumulator").read(), [accum, 0.1], "accumulator");
    assertAllClose(await v.read(), [1 - 1.4 / (Math.sqrt(accum) + 1e-7), 2], "variable");
    opt.destroy();
    store.destroy();
  });
});

test("Keras testSparseBasic, testSparseSingleVarDim, testSparseRepeatedIndices(ByEmbeddingLookUp)", async () => {
  await withDevice(async (device) => {
    const store = new VariableStore(device);
    // testSparseBasic: lr 3.0, indices [0, 2] of 3 rows; row 1 never changes.
    const var0 = store.variable("var0", [3], new Float32Array([1, 1, 2]));
    const var1 = store.variable("var1", [3], new Float32Array([3, 3, 4]));
    const basic = new Adagrad({ learningRate: 3.0 });
    const expected = [
      [[0.09546623899389961, 1.0, 1.0954662389938996], [
        2.9051790987838686,
        3.0,
        3.9051790987838686,
      ]],
      [[-0.7705589147906112, 1.0, 0.22944108520938877], [
        2.8104055251829942,
        3.0,
        3.8104055251829942,
      ]],
      [[-1.6026089783592883, 1.0, -0.6026089783592882], [
        2.715679208400653,
        3.0,
        3.715679208400653,
      ]],
    ];
    for (const [e0, e1] of expected) {
      await basic.applyGradients([
        [new IndexedSlices(new Float32Array([0.1, 0.1]), new Int32Array([0, 2]), [3]), var0],
        [new IndexedSlices(new Float32Array([0.01, 0.01]), new Int32Array([0, 2]), [3]), var1],
      ]);
      assertAllClose(await var0.read(), e0, "testSparseBasic var0");
      assertAllClose(await var1.read(), e1, "testSparseBasic var1");
    }
    assertAllClose(await basic.getSlot(var0, "accumulator").read(), [0.13, 0.1, 0.13], "accum0");

    // testSparseSingleVarDim: denseShape [3] on a variable of 1 element (Keras ignores dim 0).
    const single = store.variable("single", [1], new Float32Array([1]));
    const opt = new Adagrad({ learningRate: 3.0, epsilon: 1 });
    for (const e of [0.7747176895625415, 0.5519029718967832, 0.33140474001623105]) {
      await opt.applyGradients([
        [new IndexedSlices(new Float32Array([0.1]), new Int32Array([0]), [3]), single],
      ]);
      assertAllClose(await single.read(), [e], "testSparseSingleVarDim");
    }

    // testSparseRepeatedIndices: [[0.1],[0.1]] at [1, 1] equals [[0.2]] at [1].
    const repeated = store.variable("repeated", [2, 1], new Float32Array([1, 2]));
    const aggregated = store.variable("aggregated", [2, 1], new Float32Array([1, 2]));
    const o1 = new Adagrad({ learningRate: 3.0 });
    const o2 = new Adagrad({ learningRate: 3.0 });
    for (const e of [0.3964329770967676, -1.0177802519430728, -2.296984277349521]) {
      await o1.applyGradients([
        [new IndexedSlices(new Float32Array([0.1, 0.1]), new Int32Array([1, 1]), [2, 1]), repeated],
      ]);
      await o2.applyGradients([
        [new IndexedSlices(new Float32Array([0.2]), new Int32Array([1]), [2, 1]), aggregated],
      ]);
      assertAllClose(await repeated.read(), [1, e], "repeated");
      assertAllClose(await aggregated.read(), [1, e], "aggregated");
    }

    // testSparseRepeatedIndicesByEmbeddingLookUp: lr 2.0, the lookup [0, 0] gives rows [1], [1].
    const lookup = store.variable("lookup", [2], new Float32Array([1, 2]));
    const o3 = new Adagrad({ learningRate: 2.0 });
    for (const e of [-0.9754590957382088, -2.3809157842081072, -3.530834900302395]) {
      await o3.applyGradients([
        [new IndexedSlices(new Float32Array([1, 1]), new Int32Array([0, 0]), [2]), lookup],
      ]);
      assertAllClose(await lookup.read(), [e, 2], "embedding lookup");
    }

    // testMinimizeSparseResourceVariable: row 0's gradient [112, 140], lr 1.0, one step.
    const m = store.variable("minimize", [2, 2], new Float32Array([1, 2, 3, 4]));
    const o4 = new Adagrad({ learningRate: 1.0 });
    await o4.applyGradients([
      [new IndexedSlices(new Float32Array([112, 140]), new Int32Array([0]), [2, 2]), m],
    ]);
    assertAllClose(
      await m.read(),
      [3.986838405967141e-06, 1.0000025517249287, 3, 4],
      "minimize",
      1e-6,
      1e-5,
    );
    for (const o of [basic, opt, o1, o2, o3, o4]) o.destroy();
    store.destroy();
  });
});

test("the result does not depend on the order of duplicates, and repeats bit for bit", async () => {
  await withDevice(async (device, own) => {
    const random = rng(5);
    const width = 3;
    const indices = randomIndices(random, 1500, 50, 4);
    const values = randomValues(random, 1500 * width);
    // The same rows in reverse order.
    const reversed = Int32Array.from(indices).reverse();
    const reversedValues = new Float32Array(values.length);
    for (let i = 0; i < 1500; i++) {
      reversedValues.set(values.subarray(i * width, (i + 1) * width), (1499 - i) * width);
    }
    const init = randomValues(random, 50 * width);
    const store = new VariableStore(device);
    const run = async (ix: Int32Array, vx: Float32Array) => {
      const v = store.variable(`v${Math.floor(random() * 1e9)}`, [50, width], init);
      const opt = own(new Adagrad({ learningRate: 0.1 }));
      await opt.applyGradients([[new IndexedSlices(vx, ix, [50, width]), v]]);
      return await v.read();
    };
    const a = await run(indices, values);
    const b = await run(indices, values);
    const c = await run(reversed, reversedValues);
    assert.deepEqual(a, b, "the same input gives the same bits");
    assertAllClose(c, a, "reversed order", 1e-6, 1e-6);
    assertMoved(a, init, "the step"); // three steps that did nothing would agree too
    store.destroy();
  });
});

test("GPU-side out-of-range indices are skipped and counted; the other rows are updated", async () => {
  await withDevice(async (device) => {
    const random = rng(3);
    const init = randomValues(random, 100 * 4);
    const store = new VariableStore(device);
    const v = store.variable("v", [100, 4], init);
    const opt = new Adagrad({ learningRate: 0.1 });
    const state = refState(init, 0.1);
    // 100 and 2**32 - 1 (an int32 -1 read as u32) are out of range.
    const indices = new Uint32Array([5, 100, 7, 0xffffffff, 5, 99, 1000000]);
    const values = randomValues(random, indices.length * 4);
    const [ib, vb] = [upload(device, indices), upload(device, values)];
    await opt.applyGradients([[new IndexedSlices(vb, ib, [100, 4]), v]]);
    refSparseStep(state, 4, indices, values, 0.1, 1e-7);
    assert.equal(await opt.skippedIndices(), 3);
    await opt.applyGradients([[new IndexedSlices(vb, ib, [100, 4]), v]]);
    refSparseStep(state, 4, indices, values, 0.1, 1e-7);
    assert.equal(await opt.skippedIndices(), 6, "the count accumulates");
    const actual = await readState(opt, v);
    assertCloseL2(actual.value, state.value, 1e-6, "variable");
    assertUntouched(actual, init, 0.1, 4, new Set([5, 7, 99]), "skipped rows");
    ib.destroy();
    vb.destroy();
    opt.destroy();
    store.destroy();
  });
});

test("bad sparse input: a clear error, raised before anything changes", async () => {
  await withDevice(async (device) => {
    const random = rng(9);
    const store = new VariableStore(device);
    const init = randomValues(random, 10 * 3);
    const v = store.variable("emb", [10, 3], init);
    const scalar = store.variable("scalar", [], 1);
    const opt = new Adagrad();
    const ok = new IndexedSlices(randomValues(random, 6), new Int32Array([1, 2]), [10, 3]);
    await opt.applyGradients([[ok, v]]);
    const before = await readState(opt, v);
    const noCopy = device.createBuffer({ size: 8, usage: STORAGE });
    const cases: [string, () => unknown, ErrorConstructor, RegExp][] = [
      [
        "index out of range",
        () => new IndexedSlices(new Float32Array(6), new Int32Array([1, 10]), [10, 3]),
        RangeError,
        /variable 'emb': index 10 at offset 1 in indices is out of range \[0, 10\)/,
      ],
      [
        "negative index",
        () => new IndexedSlices(new Float32Array(3), new Int32Array([-1]), [10, 3]),
        RangeError,
        /variable 'emb': index -1 at offset 0/,
      ],
      [
        "row shape differs from the variable's",
        () => new IndexedSlices(new Float32Array(4), new Int32Array([1, 2]), [10, 2]),
        TypeError,
        /variable 'emb' is an IndexedSlices of denseShape \[10, 2\], but the variable's shape is \[10, 3\]/,
      ],
      [
        "indices buffer without COPY_SRC",
        () => new IndexedSlices(new Float32Array(6), noCopy, [10, 3]),
        TypeError,
        /variable 'emb': the buffer of its indices needs GPUBufferUsage.COPY_SRC/,
      ],
    ];
    for (const [what, make, type, message] of cases) {
      await assert.rejects(
        opt.applyGradients([[new Float32Array(1).fill(0) as never, scalar], [
          make() as IndexedSlices,
          v,
        ]]),
        (e: Error) => e instanceof type && message.test(e.message),
        what,
      );
    }
    await assert.rejects(
      opt.applyGradients([[
        new IndexedSlices(new Float32Array(1), new Int32Array([0]), [1]),
        scalar,
      ]]),
      /variable 'scalar': an IndexedSlices needs a variable of at least 1 dimension/,
    );
    // The constructor's own checks.
    assert.throws(
      () => new IndexedSlices(new Float32Array(5), new Int32Array([1, 2]), [10, 3]),
      { name: "TypeError", message: /values hold 5 elements, expected 2 rows of 3 \(6\)/ },
    );
    assert.throws(() => new IndexedSlices(new Float32Array(2), [1, 2] as never, [10]), TypeError);
    assert.throws(() => new IndexedSlices(new Float32Array(2), new Int32Array(2), []), TypeError);
    assert.throws(() => new IndexedSlices([1, 2] as never, new Int32Array(2), [10]), TypeError);
    assert.throws(
      () => new IndexedSlices(new Float32Array(0), new Int32Array(0), [10, 0]),
      /Inner dimension should be greater than zero/,
    );
    assert.equal(opt.iterations, 1);
    assert.throws(() => opt.getSlot(scalar, "accumulator"), /no 'accumulator' slot yet/);
    const after = await readState(opt, v);
    assert.deepEqual(after, before, "nothing changed");
    noCopy.destroy();
    opt.destroy();
    store.destroy();
  });
});

test("an IndexedSlices with no rows creates the slot and changes nothing", async () => {
  await withDevice(async (device) => {
    const store = new VariableStore(device);
    const v = store.variable("v", [4, 2], new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]));
    const opt = new Adagrad();
    await opt.applyGradients([[
      new IndexedSlices(new Float32Array(0), new Int32Array(0), [4, 2]),
      v,
    ]]);
    assert.equal(opt.iterations, 1);
    assert.deepEqual(await v.read(), new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]));
    assert.deepEqual(await opt.getSlot(v, "accumulator").read(), new Float32Array(8).fill(0.1));
    opt.destroy();
    store.destroy();
  });
});
