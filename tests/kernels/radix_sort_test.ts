// Large sparse steps are sorted by the radix sort, small ones by the bitonic sort. Both must give
// the same order (duplicates in the caller's order), so every result is the same to the bit
// whichever ran: checked here by running the same steps through each, and against the float64
// reference at a size that takes the radix sort by default. Each run's tables moved from their
// initial values (two sorts that both did nothing would agree too).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Adagrad,
  type AdagradOptions,
  IndexedSlices,
  RowWiseAdagrad,
  type Variable,
  VariableStore,
} from "../../mod.ts";
import { setRadixMinimum } from "../../src/sparse/_staging.ts";
import { type Own, upload, withDevice } from "../_gpu.ts";
import { assertMoved } from "../_moved.ts";
import {
  assertCloseL2,
  randomIndices,
  randomValues,
  refSparseStep,
  refState,
  rng,
} from "../_reference.ts";

interface Table {
  shape: number[];
  nnz: number;
  /** Indices given as GPU buffers, with some out of range (skipped and counted). */
  gpu?: boolean;
}

// Key bits in use decide the number of radix passes, so these cover an odd and an even count;
// index counts that are not multiples of a radix block (4,096 pairs) or of a workgroup.
const CONFIGS: { name: string; tables: Table[]; options: AdagradOptions; rowWise?: boolean }[] = [
  { name: "one table, 1 index", tables: [{ shape: [10, 3], nnz: 1 }], options: {} },
  {
    name: "three tables, clipnorm",
    tables: [
      { shape: [5000, 4], nnz: 5003 },
      { shape: [70, 1], nnz: 1025, gpu: true },
      { shape: [300], nnz: 4096 },
    ],
    options: { clipnorm: 0.5 },
  },
  {
    name: "a 2^17-row table, globalClipnorm, indices on the GPU",
    tables: [{ shape: [1 << 17, 2], nnz: 70_001, gpu: true }],
    options: { globalClipnorm: 3, clipvalue: 0.9 },
  },
  {
    name: "row-wise, two tables",
    tables: [{ shape: [20_000, 5], nnz: 9_999 }, { shape: [33, 8], nnz: 500, gpu: true }],
    options: { initialAccumulatorValue: 0 },
    rowWise: true,
  },
];

/** Runs `steps` random steps with the sort chosen by `radixMinimum`; returns every state's bits. */
async function run(
  device: GPUDevice,
  own: Own,
  config: (typeof CONFIGS)[number],
  radixMinimum: number,
): Promise<{ bits: Uint32Array[]; skipped: number }> {
  const previous = setRadixMinimum(radixMinimum);
  try {
    const random = rng(7);
    const store = own(new VariableStore(device));
    const opt = own(new (config.rowWise ? RowWiseAdagrad : Adagrad)(config.options));
    const init = config.tables.map((t) => randomValues(random, t.shape.reduce((a, b) => a * b, 1)));
    const vars: Variable[] = config.tables.map((t, i) => store.variable(`t${i}`, t.shape, init[i]));
    for (let step = 0; step < 2; step++) {
      await opt.applyGradients(config.tables.map((t, i) => {
        const rows = t.shape[0];
        const width = t.shape.slice(1).reduce((a, b) => a * b, 1);
        const indices = randomIndices(random, t.nnz, rows, 50);
        const values = randomValues(random, t.nnz * width);
        if (!t.gpu) return [new IndexedSlices(values, indices, t.shape), vars[i]];
        for (let k = 0; k < indices.length; k += 97) indices[k] = k % 2 ? -1 : rows + k;
        const ib = own(upload(device, indices));
        return [new IndexedSlices(own(upload(device, values)), ib, t.shape), vars[i]];
      }));
    }
    const bits: Uint32Array[] = [];
    for (const [i, v] of vars.entries()) {
      const values = await v.read();
      assertMoved(values, init[i], `${config.name}, radix from ${radixMinimum}: ${v.name}`);
      bits.push(new Uint32Array(values.buffer));
      bits.push(new Uint32Array((await opt.getSlot(v, "accumulator").read()).buffer));
    }
    return { bits, skipped: await opt.skippedIndices() };
  } finally {
    setRadixMinimum(previous);
  }
}

for (const config of CONFIGS) {
  test(`radix and bitonic sorts give the same step to the bit: ${config.name}`, async () => {
    await withDevice(async (device, own) => {
      const radix = await run(device, own, config, 1);
      const bitonic = await run(device, own, config, Infinity);
      assert.equal(radix.skipped, bitonic.skipped, "skipped indices");
      radix.bits.forEach((bits, k) => {
        const other = bitonic.bits[k];
        const at = bits.findIndex((x, i) => x !== other[i]);
        assert.equal(at, -1, `state ${k}: element ${at} differs`);
      });
    });
  });
}

test("a 200,000-index step (radix sort) against the float64 reference", async () => {
  await withDevice(async (device, own) => {
    const random = rng(11);
    const [rows, width, nnz] = [150_000, 3, 200_000];
    const init = randomValues(random, rows * width);
    const store = own(new VariableStore(device));
    const table = store.variable("table", [rows, width], init);
    const opt = own(new Adagrad({ learningRate: 0.05 }));
    const state = refState(init, 0.1);
    for (let step = 0; step < 2; step++) {
      const indices = randomIndices(random, nnz, rows, 1000);
      const values = randomValues(random, nnz * width);
      await opt.applyGradients([[new IndexedSlices(values, indices, [rows, width]), table]]);
      refSparseStep(state, width, indices, values, 0.05, 1e-7);
    }
    assertCloseL2(await table.read(), state.value, 1e-6, "variable");
    assertCloseL2(await opt.getSlot(table, "accumulator").read(), state.accum, 1e-6, "accumulator");
  });
});
