// Float16 gradients (Keras's mixed_float16: float16 gradients, float32 variables and state): the
// half-float rounding on the CPU, dense gradients of a `gradDtype: "float16"` store from every
// source, float16 IndexedSlices values from the CPU and the GPU, each against the float64
// reference of the rounded gradients, and mixed precision end to end with a LossScaleOptimizer.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Adagrad,
  type AdagradOptions,
  IndexedSlices,
  LossScaleOptimizer,
  RowWiseAdagrad,
  type Variable,
  VariableStore,
} from "../../mod.ts";
import { halfBits, halfValue } from "../../src/_common/float16.ts";
import { kernelsFor } from "../../src/_kernels/kernels.ts";
import { PLAIN_SPECIALISATION } from "../../src/_kernels/specialisation.ts";
import { upload, withDevice } from "../_gpu.ts";
import { assertMoved } from "../_moved.ts";
import {
  assertCloseL2,
  type Clip,
  randomIndices,
  randomValues,
  refClip,
  refRowWiseStep,
  refSparseStep,
  type RefState,
  refState,
  refStep,
  rng,
} from "../_reference.ts";

/** The runtime's Float16Array, where it has one (Deno and Bun; not Node 20). */
type HalfArray = ArrayLike<number> & { buffer: ArrayBufferLike };
const F16 = (globalThis as unknown as Record<string, unknown>).Float16Array as
  | (new (x: ArrayLike<number>) => HalfArray)
  | undefined;
const bits = (x: Float32Array) => Array.from(new Uint32Array(x.slice().buffer));
const halves = (x: Float32Array) => Uint16Array.from(x, halfBits);
const rounded = (x: Float32Array) => Float64Array.from(x, (v) => halfValue(halfBits(v)));
/** Threads per workgroup of the element kernels on `device`. */
const workgroupSize = (device: GPUDevice) => kernelsFor(device, PLAIN_SPECIALISATION).workgroupSize;

test("float16 rounding: nearest, ties to even, subnormals, overflow, NaN", () => {
  // [float32 value, float16 bits], worked out by hand from IEEE 754.
  const table: [number, number][] = [
    [1, 0x3c00],
    [-2, 0xc000],
    [65504, 0x7bff], // the largest half
    [65520, 0x7c00], // halfway to 2^16: ties to even rounds up to infinity
    [65519.99609375, 0x7bff],
    [2 ** -14, 0x0400], // the smallest normal
    [2 ** -24, 0x0001], // the smallest subnormal
    [2 ** -25, 0x0000], // a tie between 0 and it: to even, 0
    [Math.fround(2 ** -25 * 1.5), 0x0001],
    [1 + 2 ** -11, 0x3c00], // a tie at 1: to even (down)
    [1 + 3 * 2 ** -11, 0x3c02], // a tie at 1 + 2^-10: to even (up)
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [-0, 0x8000],
  ];
  for (const [x, h] of table) assert.equal(halfBits(x), h, `halfBits(${x})`);
  assert.ok(Number.isNaN(halfValue(halfBits(NaN))), "NaN stays NaN");
  if (F16) {
    // Where the runtime has Float16Array, compare every class of float32 at random.
    const random = rng(16);
    const words = Uint32Array.from({ length: 100_000 }, () => Math.floor(random() * 2 ** 32));
    const values = new Float32Array(words.buffer);
    const platform = new Uint16Array(new F16(values).buffer);
    for (let i = 0; i < values.length; i++) {
      if (Number.isNaN(values[i])) continue;
      assert.equal(halfBits(values[i]), platform[i], `halfBits(${values[i]})`);
      assert.equal(halfValue(platform[i]), new F16([values[i]])[0], `halfValue(${platform[i]})`);
    }
  }
});

/**
 * A WGSL pass writing `data` as float16 into a variable's gradient region, as a backward shader
 * would: pack2x16float, with overflow written as infinity (WGSL leaves pack2x16float's result
 * indeterminate there).
 */
function writeHalvesOnGpu(device: GPUDevice, v: Variable, data: Float32Array): GPUBuffer {
  const source = upload(device, data);
  const module = device.createShaderModule({
    code: `
      @group(0) @binding(0) var<storage, read> src: array<f32>;
      @group(0) @binding(1) var<storage, read_write> dst: array<u32>;
      fn half_bits(x: f32) -> u32 {
        let magnitude = bitcast<u32>(x) & 0x7fffffffu;
        let sign = (bitcast<u32>(x) >> 16u) & 0x8000u;
        if (magnitude >= 0x477ff000u) { return sign | 0x7c00u; }
        return pack2x16float(vec2f(x, 0.0)) & 0xffffu;
      }
      @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {
        let n = arrayLength(&src);
        if (2u * id.x >= n) { return; }
        let high = select(0.0, src[min(2u * id.x + 1u, n - 1u)], 2u * id.x + 1u < n);
        dst[id.x] = half_bits(src[2u * id.x]) | (half_bits(high) << 16u);
      }`,
  });
  const pipeline = device.createComputePipeline({
    layout: "auto",
    compute: { module, entryPoint: "main" },
  });
  const group = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: source } },
      { binding: 1, resource: v.grad.binding },
    ],
  });
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(Math.ceil(data.length / 128));
  pass.end();
  device.queue.submit([encoder.finish()]);
  return source;
}

test("dense float16 gradients from every source, with each clipping mode, against the float64 reference", async () => {
  await withDevice(async (device, own) => {
    let seed = 160;
    for (const clip of [{}, { clipvalue: 0.5 }, { clipnorm: 2 }, { globalClipnorm: 3 }] as Clip[]) {
      const random = rng(seed++);
      // Small arenas: the variables straddle several; sizes are not multiples of the workgroup.
      const store = own(new VariableStore(device, { gradDtype: "float16", maxArenaBytes: 24576 }));
      const plain = own(new VariableStore(device));
      const sizes = [1001, 5, 4099, 258];
      const inits = sizes.map((n) => randomValues(random, n));
      const vars = sizes.map((n, i) => store.variable(`h${i}`, [n], inits[i]));
      const twins = sizes.map((n, i) => plain.variable(`f${i}`, [n], inits[i]));
      assert.equal(vars[0].grad.dtype, "float16");
      assert.equal(vars[0].grad.length, 1001);
      assert.equal(vars[0].grad.size, 2004); // bytes, as a GPUBufferBinding's
      assert.equal(vars[0].grad.byteLength, 2004);
      assert.equal(vars[1].grad.offset % device.limits.minStorageBufferOffsetAlignment, 0);
      const opt = own(new Adagrad({ learningRate: 0.05, ...clip }));
      const twin = own(new Adagrad({ learningRate: 0.05, ...clip }));
      const refs = inits.map((init) => refState(init, 0.1));
      for (let step = 0; step < 3; step++) {
        const grads = sizes.map((n) => randomValues(random, n, 0.05, 3));
        // Four sources: a Float32Array (rounded on the CPU), Uint16Array bits, the variable's
        // own region written by a shader (pack2x16float), a copy from another GPU buffer.
        own(writeHalvesOnGpu(device, vars[2], grads[2]));
        const bitsOf3 = halves(grads[3]);
        const padded = new Uint16Array(bitsOf3.length + (bitsOf3.length & 1));
        padded.set(bitsOf3);
        const copy = own(upload(device, new Uint32Array(padded.buffer)));
        await opt.applyGradients([
          [grads[0], vars[0]],
          [halves(grads[1]), vars[1]],
          [vars[2].grad, vars[2]],
          [copy, vars[3]],
        ]);
        const exact = grads.map(rounded);
        await twin.applyGradients(exact.map((g, i) => [Float32Array.from(g), twins[i]]));
        refClip(exact, clip).forEach((g, i) => refStep(refs[i], g, 0.05, 1e-7));
      }
      for (const [i, v] of vars.entries()) {
        const what = `${JSON.stringify(clip)} variable ${i}`;
        assertCloseL2(await v.read(), refs[i].value, 2e-6, what);
        assertCloseL2(await opt.getSlot(v, "accumulator").read(), refs[i].accum, 2e-6, what);
        // The same rounded gradients through a float32 store give the same bits.
        assert.deepEqual(bits(await v.read()), bits(await twins[i].read()), `${what}: bits`);
      }
    }
  });
});

test("float16 IndexedSlices values from the CPU and the GPU, element-wise and row-wise", async () => {
  await withDevice(async (device, own) => {
    const random = rng(61);
    // An odd number of halves: the GPU ranges end mid-word and are copied in whole words.
    const [rows, width, nnz] = [400, 5, 1501];
    for (const Optimizer of [Adagrad, RowWiseAdagrad]) {
      // A float16 store: its gradient arena is never read here (sparse gradients only).
      const store = own(new VariableStore(device, { gradDtype: "float16" }));
      const init = randomValues(random, rows * width);
      const vars = [0, 1, 2, 3].map((i) => store.variable(`t${i}`, [rows, width], init));
      const twin = store.variable("twin", [rows, width], init);
      const opt = own(new Optimizer({ learningRate: 0.1, clipnorm: 4 }));
      const ref = own(new Optimizer({ learningRate: 0.1, clipnorm: 4 }));
      const rowWise = Optimizer === RowWiseAdagrad;
      const state: RefState = rowWise
        ? { value: Float64Array.from(init), accum: new Float64Array(rows).fill(Math.fround(0.1)) }
        : refState(init, 0.1);
      for (let step = 0; step < 2; step++) {
        const indices = randomIndices(random, nnz, rows, 30);
        const values = randomValues(random, nnz * width);
        const h = halves(values);
        const words = new Uint16Array(h.length + 1 + 8); // padded to whole words, then 16 bytes on
        words.set(h);
        words.set(h.subarray(0, 8), h.length + 1);
        const gpu = own(upload(device, new Uint32Array(words.buffer)));
        // The second range starts 16 bytes into another buffer.
        const shifted = new Uint16Array(8 + h.length + 1);
        shifted.set(h, 8);
        const other = own(upload(device, new Uint32Array(shifted.buffer)));
        const bytes = 2 * (h.length + 1);
        await opt.applyGradients([
          [new IndexedSlices(h, indices, [rows, width]), vars[0]],
          [
            new IndexedSlices({ buffer: gpu, size: bytes }, indices, [rows, width], "float16"),
            vars[1],
          ],
          [
            new IndexedSlices(
              { buffer: other, offset: 16, size: bytes },
              indices,
              [rows, width],
              "float16",
            ),
            vars[3],
          ],
          [
            new IndexedSlices(
              F16 ? new F16(values) as unknown as Uint16Array : h,
              indices,
              [rows, width],
            ),
            vars[2],
          ],
        ]);
        const exact = rounded(values);
        await ref.applyGradients([
          [new IndexedSlices(Float32Array.from(exact), indices, [rows, width]), twin],
        ]);
        const [clipped] = refClip([exact], { clipnorm: 4 });
        if (rowWise) refRowWiseStep(state, width, indices, clipped, Math.fround(0.1), 1e-7);
        else refSparseStep(state, width, indices, clipped, 0.1, 1e-7);
      }
      const expected = bits(await twin.read());
      for (const [i, v] of vars.entries()) {
        assert.deepEqual(bits(await v.read()), expected, `${Optimizer.name} source ${i}: bits`);
      }
      assertCloseL2(await twin.read(), state.value, 2e-6, `${Optimizer.name}: float64 reference`);
    }
  });
});

test("mixed precision: float16 gradients of a scaled loss, a dynamic scale, overflow skipped", async () => {
  await withDevice(async (device, own) => {
    const random = rng(33);
    const store = own(new VariableStore(device, { gradDtype: "float16" }));
    const n = 3001;
    const init = randomValues(random, n);
    const v = store.variable("w", [n], init);
    const opt = own(
      new LossScaleOptimizer(new Adagrad({ learningRate: 0.05 }), {
        initialScale: 2 ** 10,
        dynamicGrowthSteps: 3,
      }),
    );
    const ref = refState(init, 0.1);
    let scale = 2 ** 10;
    let good = 0;
    for (let step = 0; step < 8; step++) {
      // Small gradients that float16 would flush to zero unscaled; step 4 overflows float16.
      const g = randomValues(random, n, 1e-6, 1e-4);
      const scaled = g.map((x) => x * scale);
      if (step === 4) scaled[17] = 1e5; // past 65504: infinity in float16
      own(writeHalvesOnGpu(device, v, scaled));
      await opt.applyGradients([[v.grad, v]], { scaled: true });
      if (step === 4) {
        scale /= 2;
        good = 0;
        continue;
      }
      const reciprocal = Math.fround(1 / scale);
      refStep(
        ref,
        Float64Array.from(rounded(scaled), (x) => Math.fround(x * reciprocal)),
        0.05,
        1e-7,
      );
      if (++good >= 3) {
        scale *= 2;
        good = 0;
      }
    }
    assert.equal(await opt.lossScale(), scale);
    assert.equal(opt.iterations, 8);
    assertCloseL2(await v.read(), ref.value, 1e-6, "variable");
    assertCloseL2(await opt.getSlot(v, "accumulator").read(), ref.accum, 1e-6, "accumulator");
  });
});

test("float16 errors name what is wrong and change nothing", async () => {
  await withDevice(async (device, own) => {
    assert.throws(
      () => new VariableStore(device, { gradDtype: "bfloat16" as "float16" }),
      /gradDtype must be "float32" or "float16"/,
    );
    const half = own(new VariableStore(device, { gradDtype: "float16" }));
    const full = own(new VariableStore(device));
    const h = half.variable("h", [10, 3], randomValues(rng(1), 30));
    const f = full.variable("f", [5], randomValues(rng(2), 5));
    const opt = own(new Adagrad());
    const before = [bits(await h.read()), bits(await f.read())];
    const cases: [unknown, Variable, RegExp][] = [
      [new Uint16Array(5), f, /16-bit data, but the variable's store keeps float32 gradients/],
      [new Uint16Array(29), h, /has 29 elements, expected 30/],
      [upload(device, new Float32Array(30)), h, /covers 120 bytes, expected 60/],
    ];
    for (const [g, v, message] of cases) {
      if (typeof g === "object" && g !== null && "mapAsync" in g) own(g as GPUBuffer);
      await assert.rejects(
        opt.applyGradients([[g as Float32Array, v]]),
        (e: Error) => e instanceof TypeError && message.test(e.message),
      );
    }
    // A region knows its element type: a float16 region is no float32 gradient, nor the reverse.
    await assert.rejects(
      opt.applyGradients([[h.grad, f]]),
      /is a float16 region, but the variable's gradients are float32/,
    );
    assert.throws(
      () => new IndexedSlices(h.grad, new Int32Array(10), [10, 3], "float32"),
      /values are a float16 BufferRegion, not float32 data/,
    );
    assert.equal(new IndexedSlices(h.grad, new Int32Array(10), [10, 3]).valuesDtype, "float16");
    const rowWise = own(new RowWiseAdagrad());
    await assert.rejects(
      rowWise.applyGradients([[new Float32Array(30), h]]),
      /dense float16 gradient; the row-wise kernel reads float32 rows/,
    );
    assert.throws(
      () => new IndexedSlices(new Float32Array(3), new Int32Array([0]), [10, 3], "float16"),
      /values are a Float32Array, not float16 data/,
    );
    assert.equal(opt.iterations, 0);
    assert.deepEqual([bits(await h.read()), bits(await f.read())], before, "nothing changed");
  });
});

test("the finiteness check finds one non-finite half anywhere in a float16 store's tiles", async () => {
  await withDevice(async (device, own) => {
    const random = rng(35);
    const store = own(new VariableStore(device, { gradDtype: "float16" }));
    // Three reduction tiles (32,768 elements each; the check reads eight halves per load, four
    // loads per iteration), the last one ending inside a load.
    const n = 70_001;
    const v = store.variable("w", [n], randomValues(random, n));
    const opt = own(new Adagrad({ learningRate: 0.05, skipNonFinite: true }));
    const before = bits(await v.read());
    // The first element, each of an iteration's four loads (lane 0's: eight halves per load,
    // loads W vectors apart), a tile's last and next first, the middle tile's fourth load, the
    // last element.
    const W = workgroupSize(device);
    const positions = [0, 8 * W + 5, 16 * W + 4, 24 * W + 7, 32_767, 32_768, 32_768 + 24 * W + 6];
    positions.push(65_536 + 4099, n - 1);
    for (const [k, p] of positions.entries()) {
      const g = halves(randomValues(random, n, 0.5));
      g[p] = k % 2 ? 0x7e00 : 0xfc00; // NaN, -infinity
      await opt.applyGradients([[g, v]]);
    }
    assert.equal(await opt.skippedSteps(), positions.length);
    assert.deepEqual(bits(await v.read()), before, "a skipped step changed the variable");
    await opt.applyGradients([[halves(randomValues(random, n, 0.5)), v]]);
    assert.equal(await opt.skippedSteps(), positions.length);
    assert.notDeepEqual(bits(await v.read()), before, "a finite step was skipped");
  });
});

test("NaN or infinity in a float16 store's padding after a variable changes nothing", async () => {
  await withDevice(async (device, own) => {
    const W = workgroupSize(device);
    // Lengths whose last vector of eight halves is read by an unrolled load (the tile's last
    // vector index modulo 4W in the last quarter), by the remainder loop, across tiles, and small.
    const lengths = [8 * (3 * W + 5) + 3, 32_768 + 8 * (3 * W + 5) + 3, 70_001, 1001];
    const options: AdagradOptions[] = [
      { skipNonFinite: true },
      { clipnorm: 1 },
      { globalClipnorm: 1 },
      { globalClipnorm: 1, clipvalue: 0.5 },
    ];
    for (const n of lengths) {
      for (const clip of options) {
        for (const poison of [0x7e00, 0x7c00]) {
          const step = async (dirty: boolean) => {
            const store = own(new VariableStore(device, { gradDtype: "float16" }));
            const v = store.variable("v", [n], randomValues(rng(3), n));
            const opt = own(new Adagrad({ learningRate: 0.1, ...clip }));
            const g = halves(randomValues(rng(4), n));
            await opt.applyGradients([[g, v]]);
            // The halves after the variable up to its alignment (a store aligns float16
            // gradients to at least 16 bytes), written in whole words.
            const first = n & ~1, end = Math.ceil(n / 8) * 8;
            if (dirty && end > n) {
              const words = new Uint16Array(end - first).fill(poison);
              if (n % 2) words[0] = g[n - 1];
              device.queue.writeBuffer(v.grad.buffer, v.grad.offset + 2 * first, words);
            }
            await opt.applyGradients([[v.grad, v]]);
            return { values: bits(await v.read()), skipped: await opt.skippedSteps() };
          };
          const what = `${n} ${JSON.stringify(clip)} ${poison.toString(16)}`;
          const dirty = await step(true), clean = await step(false);
          assert.equal(dirty.skipped, 0, what);
          assert.deepEqual(dirty.values, clean.values, what);
          // Steps that did nothing would agree too.
          assertMoved(clean.values, bits(randomValues(rng(3), n)), `${what}: the steps`);
        }
      }
    }
  });
});
