// Update tiles are 4,096 elements on a GPU and 8,192 on a fallback (CPU) adapter, where a
// workgroup's fixed cost weighs more: both sizes run every update kind against the float64
// reference, at lengths around both tile sizes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Adagrad, IndexedSlices, VariableStore } from "../mod.ts";
import {
  FALLBACK_TILE_ELEMENTS,
  setTileElements,
  TILE_ELEMENTS,
  tileElementsFor,
} from "../src/_kernels/kernels.ts";
import { withDevice } from "./_gpu.ts";
import { isFallbackDevice, noteAdapter } from "../src/device/_adapter_kind.ts";
import {
  assertCloseL2,
  randomIndices,
  randomValues,
  refClip,
  refSparseStep,
  refState,
  refStep,
  rng,
} from "./_reference.ts";

test("the update tile size follows the adapter: larger on a fallback adapter", async () => {
  await withDevice((device) => {
    // The suite's device comes from requestDevice, which read its adapter while it was alive.
    assert.equal(
      tileElementsFor(device),
      isFallbackDevice(device) ? FALLBACK_TILE_ELEMENTS : TILE_ELEMENTS,
    );
    const previous = setTileElements(TILE_ELEMENTS);
    assert.equal(tileElementsFor(device), TILE_ELEMENTS);
    setTileElements(previous);
    return Promise.resolve();
  });
  // Stand-ins: what requestDevice records, and a device made elsewhere.
  const made = {} as GPUDevice;
  noteAdapter(made, { info: { isFallbackAdapter: true } } as unknown as GPUAdapter);
  assert.equal(tileElementsFor(made), FALLBACK_TILE_ELEMENTS);
  let asked = 0;
  const elsewhere = {
    get adapterInfo() {
      asked++;
      return { isFallbackAdapter: true };
    },
  } as unknown as GPUDevice;
  const deno = (globalThis as { Deno?: unknown }).Deno !== undefined;
  // Deno 2.8.3 panics reading adapterInfo once the adapter is collected: it is never asked there.
  assert.equal(isFallbackDevice(elsewhere), !deno);
  assert.equal(asked, deno ? 0 : 1);
});

for (const tile of [TILE_ELEMENTS, FALLBACK_TILE_ELEMENTS]) {
  test(`${tile}-element update tiles: dense with clipnorm and sparse steps match float64`, async () => {
    const previous = setTileElements(tile);
    try {
      await withDevice(async (device, own) => {
        const random = rng(tile);
        const sizes = [tile - 1, tile + 1, 2 * tile + 3, 16385, 70001, 7];
        const store = own(new VariableStore(device));
        const inits = sizes.map((n) => randomValues(random, n));
        const vars = sizes.map((n, i) => store.variable(`v${i}`, [n], inits[i]));
        const table = store.variable("table", [3000, 9], randomValues(random, 27000));
        const tableInit = await table.read();
        const opt = own(new Adagrad({ learningRate: 0.05, clipnorm: 40 }));
        const refs = inits.map((init) => refState(init, 0.1));
        const tableRef = refState(tableInit, 0.1);
        for (let step = 0; step < 3; step++) {
          const grads = sizes.map((n) => randomValues(random, n));
          const indices = randomIndices(random, 700, 3000, 30);
          const values = randomValues(random, indices.length * 9);
          await opt.applyGradients([
            ...vars.map((v, i) => [grads[i], v] as const),
            [new IndexedSlices(values, indices, [3000, 9]), table] as const,
          ]);
          const clipped = refClip(grads.map((g) => Float64Array.from(g)), { clipnorm: 40 });
          refs.forEach((r, i) => refStep(r, clipped[i], 0.05, 1e-7));
          // The sparse gradient is clipped as a whole, over its raw value rows (Keras).
          const [sparseClipped] = refClip([Float64Array.from(values)], { clipnorm: 40 });
          refSparseStep(tableRef, 9, indices, sparseClipped, 0.05, 1e-7);
        }
        for (const [i, v] of vars.entries()) {
          assertCloseL2(await v.read(), refs[i].value, 2e-6, `v${i}`);
          assertCloseL2(
            await opt.getSlot(v, "accumulator").read(),
            refs[i].accum,
            2e-6,
            `v${i} acc`,
          );
        }
        assertCloseL2(await table.read(), tableRef.value, 2e-6, "table");
      });
    } finally {
      setTileElements(previous);
    }
  });
}
