// The per-adapter choices of the dispatch shape beyond tiles and lanes (DispatchShape in
// src/_kernels/kernels.ts), each forced on whatever adapter runs the tests: the row kernel's two
// layouts (one thread per row, a fallback adapter's; a row over lanes, a GPU's) and the order of a
// window's sparse tiles (dealt out, a fallback adapter's; table order, a GPU's), every one against
// the float64 reference on random data at sizes that are not multiples of the workgroup size.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Adagrad,
  IndexedSlices,
  RowWiseAdagrad,
  type RowWiseAdagradOptions,
  VariableStore,
} from "../../mod.ts";
import {
  type DispatchShape,
  FALLBACK_SHAPE,
  GPU_SHAPE,
  kernelsFor,
  setDispatchShape,
} from "../../src/_kernels/kernels.ts";
import { PLAIN_SPECIALISATION } from "../../src/_kernels/specialisation.ts";
import { withDevice } from "../_gpu.ts";
import { coalesce, denseRows, familyState, fbgemmRowWiseStep } from "../_proximal_reference.ts";
import {
  assertCloseL2,
  type Clip,
  randomIndices,
  randomValues,
  refClip,
  refSparseStep,
  refState,
  rng,
} from "../_reference.ts";

/** Runs `body` with `shape` forced, restoring the previous setting. */
async function forced(shape: DispatchShape, body: () => Promise<void>): Promise<void> {
  const previous = setDispatchShape(shape);
  try {
    await body();
  } finally {
    setDispatchShape(previous);
  }
}

test("each shape's row layout and tile order reach the kernels", async () => {
  await withDevice(async (device) => {
    const kernels = kernelsFor(device, PLAIN_SPECIALISATION);
    const size = kernels.sparseWorkgroupSize;
    await forced(FALLBACK_SHAPE, () => {
      assert.match(kernels.sparseUpdate("row").label, /rowwise_update:/);
      assert.equal(kernels.rowsPerTile, size);
      assert.equal(kernels.dealSparse, true);
      return Promise.resolve();
    });
    await forced(GPU_SHAPE, () => {
      assert.match(kernels.sparseUpdate("row").label, /rowwise_update_lanes:.*"ROW_LANES":16/);
      assert.equal(kernels.rowsPerTile, size / 16);
      assert.equal(kernels.dealSparse, false);
      return Promise.resolve();
    });
    // Wider than a workgroup: one row per workgroup.
    await forced({ ...GPU_SHAPE, rowLanes: 4 * size }, () => {
      assert.equal(kernels.rowLanes, size);
      assert.equal(kernels.rowsPerTile, 1);
      return Promise.resolve();
    });
  });
  assert.throws(() => setDispatchShape({ ...GPU_SHAPE, rowLanes: 12 }), RangeError);
});

const LAYOUTS: [string, number][] = [
  ["one thread per row", 0],
  ["a row over 16 lanes (a GPU's)", 16],
  ["a row over 4 lanes", 4],
  ["a row over the whole workgroup", 1024],
];

const OPTIONS: [string, RowWiseAdagradOptions & { learningRate: number }, Clip][] = [
  ["clipnorm", { learningRate: 0.1, clipnorm: 20 }, { clipnorm: 20 }],
  ["L2 decay, maxNorm", { learningRate: 0.5, weightDecay: 0.1, maxNorm: 2.5 }, {}],
  ["decoupled decay, clipvalue", {
    learningRate: 0.05,
    weightDecay: 0.3,
    weightDecayMode: "decoupled",
    clipvalue: 0.8,
  }, { clipvalue: 0.8 }],
];

const f = Math.fround;

for (const [layout, rowLanes] of LAYOUTS) {
  for (const [label, options, clip] of OPTIONS) {
    test(`the row kernel, ${layout}: RowWiseAdagrad with ${label}, sparse and dense, float64 reference`, async () => {
      await forced({ ...GPU_SHAPE, rowLanes }, () =>
        withDevice(async (device, own) => {
          const random = rng(61 + rowLanes);
          const store = own(new VariableStore(device));
          // Widths below, at and past the row's lanes, none a multiple of them; rows not a
          // multiple of a tile's.
          const shapes: [number, number][] = [[1003, 37], [301, 5], [517, 1], [77, 300]];
          const inits = shapes.map(([r, w]) => randomValues(random, r * w));
          const vars = shapes.map(([r, w], i) => store.variable(`v${i}`, [r, w], inits[i]));
          const opt = own(new RowWiseAdagrad({ initialAccumulatorValue: 0.2, ...options }));
          const states = shapes.map(([r], i) => familyState(inits[i], r, 0.2));
          const settings = {
            lr: f(options.learningRate),
            eps: f(1e-7),
            weightDecay: f(options.weightDecay ?? 0),
            mode: options.weightDecayMode,
            maxNorm: f(options.maxNorm ?? 0),
          };
          for (let step = 0; step < 3; step++) {
            // The first table sparse (duplicates), the others dense; the last sparse too.
            const [rows, width] = shapes[0];
            const indices = randomIndices(random, 777, rows, 25);
            const values = randomValues(random, indices.length * width);
            const [lastRows, lastWidth] = shapes[3];
            const lastIndices = randomIndices(random, 45, lastRows, 6);
            const lastValues = randomValues(random, lastIndices.length * lastWidth);
            const dense = shapes.slice(1, 3).map(([r, w]) => randomValues(random, r * w));
            await opt.applyGradients([
              [new IndexedSlices(values, indices, [rows, width]), vars[0]],
              [dense[0], vars[1]],
              [dense[1], vars[2]],
              [new IndexedSlices(lastValues, lastIndices, [lastRows, lastWidth]), vars[3]],
            ]);
            const clipped = refClip(
              [values, dense[0], dense[1], lastValues].map((g) => Float64Array.from(g)),
              clip,
            );
            fbgemmRowWiseStep(states[0], coalesce(indices, clipped[0], width), width, settings);
            fbgemmRowWiseStep(states[1], denseRows(clipped[1], 5), 5, settings);
            fbgemmRowWiseStep(states[2], denseRows(clipped[2], 1), 1, settings);
            fbgemmRowWiseStep(
              states[3],
              coalesce(lastIndices, clipped[3], lastWidth),
              lastWidth,
              settings,
            );
          }
          for (const [i, v] of vars.entries()) {
            assertCloseL2(await v.read(), states[i].value, 2e-6, `${v.name} variable`);
            assertCloseL2(
              await opt.getSlot(v, "accumulator").read(),
              states[i].accum,
              2e-6,
              `${v.name} accumulator`,
            );
          }
        }));
    });
  }
}

// A table past its 600 KiB arena is three windows; 16-element tiles make each window's work a
// long run of consecutive sparse tiles, dealt out or left in table order.
for (const [order, dealSparse] of [["dealt out", true], ["in table order", false]] as const) {
  test(`a split table's IndexedSlices with sparse tiles ${order}: float64 reference`, async () => {
    await forced(
      { ...FALLBACK_SHAPE, tileElements: 16, dealSparse },
      () =>
        withDevice(async (device, own) => {
          const random = rng(dealSparse ? 71 : 72);
          const [rows, width] = [40000, 6];
          const store = own(new VariableStore(device, { maxArenaBytes: 600 * 1024 }));
          const init = randomValues(random, rows * width);
          const table = store.variable("table", [rows, width], init);
          assert.ok(table.windows.length > 1, "the table is split");
          const opt = own(new Adagrad({ learningRate: 0.2, clipnorm: 2 }));
          const state = refState(init, 0.1);
          const edges = [16383, 16384, 16384, 32767, 32768, 39999, 0];
          for (let step = 0; step < 3; step++) {
            const indices = Int32Array.from([...edges, ...randomIndices(random, 293, rows, 9)]);
            const values = randomValues(random, indices.length * width);
            await opt.applyGradients([[new IndexedSlices(values, indices, [rows, width]), table]]);
            const [clipped] = refClip([Float64Array.from(values)], { clipnorm: 2 });
            refSparseStep(state, width, indices, clipped, 0.2, 1e-7);
          }
          assertCloseL2(await table.read(), state.value, 2e-6, "table");
          assertCloseL2(await opt.getSlot(table, "accumulator").read(), state.accum, 2e-6, "acc");
        }),
    );
  });
}
