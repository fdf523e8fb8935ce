// The dense update's dispatch shape follows the adapter: on a GPU tiles of 4,096 elements with
// lanes side by side, on a fallback (CPU) adapter tiles of 32,768 with a contiguous block per 8
// lanes. Every shape runs each dense kernel (store arenas, float16 gradients, the caller's own
// buffer) and the sparse update against the float64 reference, at lengths around its tile size.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Adagrad, IndexedSlices, VariableStore } from "../../mod.ts";
import {
  type DispatchShape,
  dispatchShapeFor,
  FALLBACK_SHAPE,
  GPU_SHAPE,
  kernelsFor,
  setDispatchShape,
} from "../../src/_kernels/kernels.ts";
import { halfBits, halfValue } from "../../src/_common/float16.ts";
import { ADAGRAD_DENSE_WGSL } from "../../src/_kernels/shaders.ts";
import { PLAIN_SPECIALISATION } from "../../src/_kernels/specialisation.ts";
import { dispatchOnce, Snapshot, upload, withDevice } from "../_gpu.ts";
import { isFallbackDevice, noteAdapter } from "../../src/device/_adapter_kind.ts";
import {
  assertCloseL2,
  randomIndices,
  randomValues,
  refClip,
  refSparseStep,
  refState,
  refStep,
  rng,
} from "../_reference.ts";

test("the dispatch shape follows the adapter: larger tiles and blocked lanes on a fallback adapter", async () => {
  await withDevice((device) => {
    // The suite's device comes from requestDevice, which read its adapter while it was alive.
    assert.equal(dispatchShapeFor(device), isFallbackDevice(device) ? FALLBACK_SHAPE : GPU_SHAPE);
    const previous = setDispatchShape(GPU_SHAPE);
    assert.equal(dispatchShapeFor(device), GPU_SHAPE);
    setDispatchShape(previous);
    return Promise.resolve();
  });
  // Stand-ins: what requestDevice records, and a device made elsewhere.
  const made = {} as GPUDevice;
  noteAdapter(made, { info: { isFallbackAdapter: true } } as unknown as GPUAdapter);
  assert.equal(dispatchShapeFor(made), FALLBACK_SHAPE);
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

test("the dense update's pipelines get the shape's lane layout", async () => {
  await withDevice((device) => {
    const kernels = kernelsFor(device, PLAIN_SPECIALISATION);
    const previous = setDispatchShape(FALLBACK_SHAPE);
    try {
      for (const layout of ["scalar", "vec4", "vec4_f16"] as const) {
        assert.match(kernels.update(layout).label, /"LANE_BLOCK":8/, layout);
      }
      setDispatchShape(GPU_SHAPE);
      assert.match(kernels.update("vec4").label, /"LANE_BLOCK":0/);
    } finally {
      setDispatchShape(previous);
    }
    return Promise.resolve();
  });
});

// lane_run itself, from the kernels' own prelude: every item of a tile visited exactly once, for
// workgroup sizes the package may pick on other adapters and ones that are not multiples of 8,
// and a block wider than the workgroup (one block: the lanes side by side).
const COVER_WGSL = `${ADAGRAD_DENSE_WGSL}
@group(0) @binding(9) var<storage, read_write> visits: array<atomic<u32>>;
@group(0) @binding(10) var<storage, read> cases: array<vec2u>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn cover(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) lane: u32) {
  let c = cases[group.x];
  let run = lane_run(lane, c.x);
  for (var i = run.first; i < run.end; i += run.stride) {
    atomicAdd(&visits[c.y + i], 1u);
  }
}
`;

test("lane_run visits every item of a tile once, lanes side by side or in blocks", async () => {
  await withDevice(async (device, own) => {
    const counts = [0, 1, 7, 8, 9, 63, 255, 256, 257, 1023, 2500, 8192, 8197];
    const offsets = counts.map((_, i) => counts.slice(0, i).reduce((a, b) => a + b, 0));
    const total = counts.reduce((a, b) => a + b, 0);
    const cases = own(upload(device, Uint32Array.from(counts.flatMap((c, i) => [c, offsets[i]]))));
    const module = device.createShaderModule({ code: COVER_WGSL });
    for (const size of [64, 100, 256]) {
      for (const laneBlock of [0, 8, 3, 512]) {
        const visits = own(device.createBuffer({
          size: 4 * total,
          usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
        }));
        const pipeline = device.createComputePipeline({
          layout: "auto",
          compute: {
            module,
            entryPoint: "cover",
            constants: { WORKGROUP_SIZE: size, LANE_BLOCK: laneBlock },
          },
        });
        dispatchOnce(
          device,
          pipeline,
          { 9: { buffer: visits }, 10: { buffer: cases } },
          counts.length,
        );
        const seen = new Uint32Array(
          (await new Snapshot(device).slice({ buffer: visits, offset: 0, byteLength: 4 * total }))
            .buffer,
        );
        counts.forEach((count, i) => {
          const items = seen.subarray(offsets[i], offsets[i] + count);
          const wrong = items.findIndex((v) => v !== 1);
          assert.equal(
            wrong,
            -1,
            `${size} lanes, LANE_BLOCK ${laneBlock}, ${count} items: item ${wrong} visited ` +
              `${items[wrong]} times`,
          );
        });
      }
    }
  });
});

/** Float32 values rounded to float16 and back (what a float16 gradient holds). */
const rounded = (values: Float32Array) => Float64Array.from(values, (x) => halfValue(halfBits(x)));

// The two adapters' shapes, and blocked lanes over small tiles: a tile of fewer vectors than
// lanes, batches whose block starts past the tile's end.
const SHAPES: [string, DispatchShape][] = [
  ["a GPU's shape", GPU_SHAPE],
  ["a fallback adapter's shape", FALLBACK_SHAPE],
  ["blocked lanes over 4,096-element tiles", { ...GPU_SHAPE, laneBlock: 8 }],
];

for (const [name, shape] of SHAPES) {
  test(`${name}: dense (arenas, float16, own buffer) with clipnorm and sparse steps match float64`, async () => {
    const previous = setDispatchShape(shape);
    const tile = shape.tileElements;
    try {
      await withDevice(async (device, own) => {
        const random = rng(tile + shape.laneBlock);
        const sizes = [tile - 1, tile + 1, 2 * tile + 3, 16385, 70001, 7];
        const store = own(new VariableStore(device));
        const inits = sizes.map((n) => randomValues(random, n));
        const vars = sizes.map((n, i) => store.variable(`v${i}`, [n], inits[i]));
        const table = store.variable("table", [3000, 9], randomValues(random, 27000));
        const tableInit = await table.read();
        // update_vec4_f16: a float16 store; update (scalar): a variable in the caller's buffer,
        // at an offset that is not a multiple of 4 elements.
        const halfSize = tile + 5;
        const halfInit = randomValues(random, halfSize);
        const half = own(new VariableStore(device, { gradDtype: "float16" }))
          .variable("half", [halfSize], halfInit);
        const ownSize = tile + 3;
        const ownInit = randomValues(random, ownSize);
        const mine = own(device.createBuffer({
          size: 4 * (ownSize + 8),
          usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
        }));
        device.queue.writeBuffer(mine, 4, ownInit);
        const external = { buffer: mine, offset: 4, size: 4 * ownSize, name: "mine" };
        const opt = own(new Adagrad({ learningRate: 0.05, clipnorm: 40 }));
        const refs = inits.map((init) => refState(init, 0.1));
        const halfRef = refState(halfInit, 0.1);
        const ownRef = refState(ownInit, 0.1);
        const tableRef = refState(tableInit, 0.1);
        for (let step = 0; step < 3; step++) {
          const grads = sizes.map((n) => randomValues(random, n));
          const halfGrad = randomValues(random, halfSize);
          const ownGrad = randomValues(random, ownSize);
          const indices = randomIndices(random, 700, 3000, 30);
          const values = randomValues(random, indices.length * 9);
          await opt.applyGradients([
            ...vars.map((v, i) => [grads[i], v] as const),
            [halfGrad, half] as const,
            [ownGrad, external] as const,
            [new IndexedSlices(values, indices, [3000, 9]), table] as const,
          ]);
          const dense = [...grads.map((g) => Float64Array.from(g)), rounded(halfGrad)];
          const clipped = refClip([...dense, Float64Array.from(ownGrad)], { clipnorm: 40 });
          refs.forEach((r, i) => refStep(r, clipped[i], 0.05, 1e-7));
          refStep(halfRef, clipped[sizes.length], 0.05, 1e-7);
          refStep(ownRef, clipped[sizes.length + 1], 0.05, 1e-7);
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
        assertCloseL2(await half.read(), halfRef.value, 2e-6, "float16 gradients");
        assertCloseL2(
          await opt.getSlot(half, "accumulator").read(),
          halfRef.accum,
          2e-6,
          "half acc",
        );
        const back = await new Snapshot(device)
          .slice({ buffer: mine, offset: 0, byteLength: 4 * (ownSize + 8) });
        assertCloseL2(back.subarray(1, 1 + ownSize), ownRef.value, 2e-6, "own buffer");
        assertCloseL2(
          await opt.getSlot(external, "accumulator").read(),
          ownRef.accum,
          2e-6,
          "own acc",
        );
        // The words around the caller's variable keep their bits (zeros).
        assert.equal(back[0], 0);
        assert.ok(
          back.subarray(1 + ownSize).every((x) => x === 0),
          "after the own buffer's variable",
        );
        assertCloseL2(await table.read(), tableRef.value, 2e-6, "table");
      });
    } finally {
      setDispatchShape(previous);
    }
  });
}
