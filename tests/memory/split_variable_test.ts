// Variables larger than one arena (one binding), cut into windows of whole rows: every kind of
// step gives, to the bit, what the same variable in one buffer gets (a twin in a store with large
// arenas), and a table past WebGPU's default 128 MiB binding matches the float64 reference.
// Small `maxArenaBytes` makes the windows' edges cheap to reach. Each comparison of two runs also
// checks that the weights moved from their initial values (tests/_moved.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Adagrad,
  type AdagradBase,
  AdagradDA,
  type AdagradOptions,
  type Gradient,
  IndexedSlices,
  LossScaleOptimizer,
  ProximalAdagrad,
  restoreCheckpoint,
  restoreCheckpointFile,
  RowWiseAdagrad,
  saveCheckpoint,
  saveCheckpointFile,
  type Variable,
  VariableStore,
} from "../../mod.ts";
import { COPY_SRC, STORAGE } from "../../src/_common/usage.ts";
import {
  type DispatchShape,
  FALLBACK_SHAPE,
  setDispatchShape,
} from "../../src/_kernels/kernels.ts";
import { setCheckpointChunkBytes } from "../../src/checkpoint/_windows.ts";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Own, upload, withDevice } from "../_gpu.ts";
import { assertMoved } from "../_moved.ts";
import { skippingVariables } from "../_console.ts";
import {
  assertCloseL2,
  randomIndices,
  randomValues,
  refSparseStep,
  refState,
  refStep,
  rng,
} from "../_reference.ts";

/**
 * 600 KiB arenas: a [40000, 6] table is 3 windows (16384, 16384, 7232 rows), a [300000] vector 3
 * (131072, 131072, 37856): whole reduction tiles (32768 elements), not as many rows as fit, so
 * norm clipping adds the same partial sums as in one buffer. 4 KiB arenas (SMALL) cut finer than
 * a reduction tile.
 */
const ARENA = 600 * 1024;
const TINY_TILES: DispatchShape = { ...FALLBACK_SHAPE, tileElements: 16 };
const SMALL = 4096;
const SHAPES: Record<string, number[]> = { table: [40000, 6], vector: [300000], bias: [5] };
const SMALL_SHAPES: Record<string, number[]> = { table: [301, 7], vector: [2500], bias: [5] };

interface Model {
  store: VariableStore;
  vars: Record<string, Variable>;
  /** Each variable's initial values. */
  init: Record<string, Float32Array>;
}

function model(
  device: GPUDevice,
  own: Own,
  maxArenaBytes: number | undefined,
  seed: number,
  gradDtype: "float32" | "float16" = "float32",
  shapes: Record<string, number[]> = SHAPES,
): Model {
  const random = rng(seed);
  const store = own(new VariableStore(device, { maxArenaBytes, gradDtype }));
  const vars: Record<string, Variable> = {};
  const init: Record<string, Float32Array> = {};
  for (const [name, shape] of Object.entries(shapes)) {
    init[name] = randomValues(random, shape.reduce((a, b) => a * b, 1));
    vars[name] = store.variable(name, shape, init[name]);
  }
  return { store, vars, init };
}

/**
 * Asserts two bit patterns are equal, naming the first difference (node:assert's diff of arrays
 * this long would take gigabytes).
 */
function assertSameBits(a: readonly Uint32Array[], b: readonly Uint32Array[], what: string): void {
  a.forEach((x, k) => {
    const y = b[k];
    assert.equal(x.length, y.length, `${what}: lengths`);
    const first = x.findIndex((bits, i) => bits !== y[i]);
    const differing = first < 0 ? 0 : x.filter((bits, i) => bits !== y[i]).length;
    assert.equal(first, -1, `${what} [${k}]: ${differing} elements differ, the first at ${first}`);
  });
}

/** Bit patterns of a variable and its accumulator, to compare exactly. */
async function bits(opt: AdagradBase, v: Variable): Promise<[Uint32Array, Uint32Array]> {
  const value = new Uint32Array((await v.read()).buffer);
  const slot = new Uint32Array((await opt.getSlot(v, "accumulator").read()).buffer);
  return [value, slot];
}

test("a variable past its arena is cut into windows of whole rows", async () => {
  await withDevice(async (device, own) => {
    const { vars } = model(device, own, SMALL, 1, "float32", SMALL_SHAPES);
    const table = vars.table;
    assert.ok(table.split && vars.vector.split && !vars.bias.split);
    assert.deepEqual(table.windows.map((w) => [w.first, w.length, w.rows]), [
      [0, 1022, 146],
      [1022, 1022, 146],
      [2044, 63, 9],
    ]);
    assert.deepEqual(vars.vector.windows.map((w) => w.length), [1024, 1024, 452]);
    for (const w of table.windows) {
      assert.equal(w.values.size, 4 * w.length);
      assert.ok(w.values.size <= SMALL);
      assert.notEqual(w.values.buffer, w.grad.buffer);
    }
    assert.equal(new Set(table.windows.map((w) => w.values.buffer)).size, 3, "a buffer each");
    const aligned = model(device, own, ARENA, 1).vars;
    assert.deepEqual(aligned.table.windows.map((w) => w.rows), [16384, 16384, 7232]);
    assert.deepEqual(aligned.vector.windows.map((w) => w.length), [131072, 131072, 37856]);
    assert.throws(() => table.buffer, { name: "TypeError", message: /spans 3 buffers.*windows/ });
    assert.throws(() => table.grad, { name: "TypeError", message: /no single grad/ });
    // Read and write across the windows.
    const data = randomValues(rng(2), table.length);
    table.write(data);
    assert.deepEqual(await table.read(), data);
  });
});

const OPTIONS: [string, AdagradOptions, number, Record<string, number[]>][] = [
  ["plain, windows finer than a reduction tile", { learningRate: 0.1 }, SMALL, SMALL_SHAPES],
  ["plain", { learningRate: 0.1 }, ARENA, SHAPES],
  ["clipnorm", { learningRate: 0.1, clipnorm: 3 }, ARENA, SHAPES],
  [
    "globalClipnorm + clipvalue",
    { learningRate: 0.1, globalClipnorm: 5, clipvalue: 0.9 },
    ARENA,
    SHAPES,
  ],
  [
    "skipNonFinite, epsilon inside",
    {
      learningRate: 0.1,
      skipNonFinite: true,
      epsilonInsideSqrt: true,
    },
    ARENA,
    SHAPES,
  ],
];

for (const [label, options, arena, shapes] of OPTIONS) {
  test(`dense steps on split variables equal one buffer's to the bit (${label})`, async () => {
    await withDevice(async (device, own) => {
      const split = model(device, own, arena, 3, "float32", shapes);
      const whole = model(device, own, undefined, 3, "float32", shapes);
      assert.ok(!whole.vars.table.split);
      const a = own(new Adagrad(options));
      const b = own(new Adagrad(options));
      const random = rng(4);
      for (let step = 0; step < 4; step++) {
        const grads = Object.fromEntries(
          Object.entries(shapes).map(([name, shape]) => {
            const g = randomValues(random, shape.reduce((x, y) => x * y, 1));
            if (step === 2 && options.skipNonFinite) g[g.length - 3] = NaN; // in the last window
            return [name, g];
          }),
        );
        // Step 1: the split table's gradient written into its windows in place; step 3: copied
        // from another buffer; otherwise uploaded.
        const pairs = (m: Model, twin: boolean): [Gradient, Variable][] =>
          Object.entries(m.vars).map(([name, v]) => {
            const g = grads[name];
            if (name !== "table" || step === 0 || step === 2) return [g, v];
            if (step === 3) return [own(upload(device, g)), v];
            if (twin) {
              device.queue.writeBuffer(v.grad.buffer, v.grad.offset, g);
              return [v.grad, v];
            }
            for (const w of v.windows) {
              device.queue.writeBuffer(w.grad.buffer, w.grad.offset, g, w.first, w.length);
            }
            return [v.windows as never, v];
          });
        await a.applyGradients(pairs(split, false));
        await b.applyGradients(pairs(whole, true));
      }
      if (options.skipNonFinite) assert.equal(await a.skippedSteps(), 1);
      assert.equal(a.iterations, b.iterations);
      for (const name of Object.keys(shapes)) {
        assertSameBits(await bits(a, split.vars[name]), await bits(b, whole.vars[name]), name);
        assertMoved(await split.vars[name].read(), split.init[name], name);
      }
    });
  });
}

// The adapter's own tiles, and tiles of 16 elements: a step's sorted block spans many tiles, so
// each window's run of them is dealt out (dealtOrder) over the table.
for (
  const [tiles, shape] of [["the adapter's tiles", null], ["16-element tiles", TINY_TILES]] as const
) {
  test(`IndexedSlices on a split table (${tiles}): rows routed to their window, duplicates summed, bits equal`, async () => {
    const previous = setDispatchShape(shape);
    try {
      await withDevice(async (device, own) => {
        const split = model(device, own, ARENA, 5);
        const whole = model(device, own, undefined, 5);
        const opts = { learningRate: 0.2, clipnorm: 2 };
        const a = own(new Adagrad(opts));
        const b = own(new Adagrad(opts));
        const random = rng(6);
        const rows = SHAPES.table[0];
        // Both sides of each window edge (rows 16383|16384, 32767|32768), the last row, duplicates.
        const edges = [16383, 16384, 16384, 32767, 32768, 32768, 39999, 0, 16383];
        for (let step = 0; step < 3; step++) {
          const indices = Int32Array.from([...edges, ...randomIndices(random, 40, rows, 5)]);
          const values = randomValues(random, indices.length * 6);
          const gpu = step === 1; // indices and values in GPU buffers, one index out of range
          if (gpu) indices[3] = rows + 7;
          const slices = (): IndexedSlices =>
            gpu
              ? new IndexedSlices(
                { buffer: own(upload(device, values)) },
                { buffer: own(upload(device, indices)) },
                [rows, 6],
              )
              : new IndexedSlices(values, indices, [rows, 6]);
          await a.applyGradients([[slices(), split.vars.table]]);
          await b.applyGradients([[slices(), whole.vars.table]]);
        }
        assert.equal(await a.skippedIndices(), 1);
        assert.equal(await b.skippedIndices(), 1);
        assertSameBits(await bits(a, split.vars.table), await bits(b, whole.vars.table), "table");
        assertMoved(await split.vars.table.read(), split.init.table, "table");
      });
    } finally {
      setDispatchShape(previous);
    }
  });
}

test("RowWiseAdagrad on a split table: dense and sparse, bits equal one buffer's", async () => {
  await withDevice(async (device, own) => {
    const split = model(device, own, ARENA, 7);
    const whole = model(device, own, undefined, 7);
    const opts = { learningRate: 0.3, globalClipnorm: 4 };
    const a = own(new RowWiseAdagrad(opts));
    const b = own(new RowWiseAdagrad(opts));
    const random = rng(8);
    for (let step = 0; step < 3; step++) {
      const dense = randomValues(random, 40000 * 6);
      const edges = [16383, 16384, 32768, 39999, 39999];
      const indices = Int32Array.from([...edges, ...randomIndices(random, 20, 40000, 4)]);
      const values = randomValues(random, indices.length * 6);
      const g = step === 1 ? new IndexedSlices(values, indices, [40000, 6]) : dense;
      await a.applyGradients([[g, split.vars.table]]);
      await b.applyGradients([[g, whole.vars.table]]);
    }
    assertSameBits(await bits(a, split.vars.table), await bits(b, whole.vars.table), "table");
    assertMoved(await split.vars.table.read(), split.init.table, "table");
  });
});

test("float16 gradients and a dynamic loss scale on split variables equal one buffer's", async () => {
  await withDevice(async (device, own) => {
    const split = model(device, own, ARENA, 9, "float16");
    const whole = model(device, own, undefined, 9, "float16");
    const a = own(new LossScaleOptimizer(new Adagrad({ learningRate: 0.1, clipnorm: 4 })));
    const b = own(new LossScaleOptimizer(new Adagrad({ learningRate: 0.1, clipnorm: 4 })));
    const random = rng(10);
    for (let step = 0; step < 3; step++) {
      const grads = Object.values(SHAPES).map((s) =>
        randomValues(random, s.reduce((x, y) => x * y, 1))
      );
      await a.applyGradients(Object.values(split.vars).map((v, i) => [grads[i], v]));
      await b.applyGradients(Object.values(whole.vars).map((v, i) => [grads[i], v]));
    }
    for (const name of Object.keys(SHAPES)) {
      assertSameBits(
        await bits(a.innerOptimizer, split.vars[name]),
        await bits(b.innerOptimizer, whole.vars[name]),
        name,
      );
      assertMoved(await split.vars[name].read(), split.init[name], name);
    }
  });
});

test("slots, weights and checkpoints of split variables: one tensor each, either way", async () => {
  await withDevice(async (device, own) => {
    const split = model(device, own, SMALL, 11, "float32", SMALL_SHAPES);
    const whole = model(device, own, undefined, 12, "float32", SMALL_SHAPES);
    const a = own(new Adagrad({ learningRate: 0.1 }));
    const random = rng(13);
    await a.applyGradients(
      Object.values(split.vars).map((v) => [randomValues(random, v.length), v]),
    );
    for (const [name, v] of Object.entries(split.vars)) {
      assertMoved(await v.read(), split.init[name], name);
    }
    const slot = a.getSlot(split.vars.table, "accumulator");
    assert.equal(slot.regions.length, 3);
    assert.equal(slot.length, 301 * 7);
    assert.throws(() => slot.region, { name: "TypeError", message: /spans 3 buffers/ });
    const weights = await a.getWeights();
    const changed = weights.map((w) => typeof w === "number" ? w : w.map((x) => x + 1));
    a.setWeights(changed);
    assert.deepEqual(await a.getWeights(), changed);
    // Split -> one buffer -> split again, bit for bit.
    const bytes = await saveCheckpoint({ variables: Object.values(split.vars), optimizer: a });
    const b = own(new Adagrad({ learningRate: 0.1 }));
    restoreCheckpoint(bytes, { variables: Object.values(whole.vars), optimizer: b });
    const again = await saveCheckpoint({ variables: Object.values(whole.vars), optimizer: b });
    assert.deepEqual(again, bytes);
    // Through a file, streamed in windows that end inside the split table's windows.
    const previous = setCheckpointChunkBytes(1004);
    try {
      const dir = await mkdtemp(join(tmpdir(), "split-"));
      const path = join(dir, "split.safetensors");
      await saveCheckpointFile(path, { variables: Object.values(split.vars), optimizer: a });
      assert.deepEqual(new Uint8Array(await readFile(path)), bytes);
      const d = own(new Adagrad({ learningRate: 0.1 }));
      const other = model(device, own, SMALL, 17, "float32", SMALL_SHAPES);
      await restoreCheckpointFile(path, { variables: Object.values(other.vars), optimizer: d });
      assert.deepEqual(
        await saveCheckpoint({ variables: Object.values(other.vars), optimizer: d }),
        bytes,
      );
      await rm(dir, { recursive: true });
    } finally {
      setCheckpointChunkBytes(previous);
    }
    const back = model(device, own, SMALL, 14, "float32", SMALL_SHAPES);
    const c = own(new Adagrad({ learningRate: 0.1 }));
    restoreCheckpoint(again, { variables: Object.values(back.vars), optimizer: c });
    assert.deepEqual(
      await saveCheckpoint({ variables: Object.values(back.vars), optimizer: c }),
      bytes,
    );
  });
});

test("a gradient array that is not the variable's own windows is refused", async () => {
  await withDevice(async (device, own) => {
    const { vars } = model(device, own, SMALL, 15, "float32", SMALL_SHAPES);
    const opt = own(new Adagrad());
    await assert.rejects(
      opt.applyGradients([[[...vars.table.windows].reverse() as never, vars.table]]),
      {
        name: "TypeError",
        message: /the variable's own variable.windows/,
      },
    );
    assert.equal(opt.iterations, 0);
    const buffer = own(device.createBuffer({ size: 64, usage: STORAGE | COPY_SRC }));
    await assert.rejects(opt.applyGradients([[vars.table.windows as never, buffer]]), TypeError);
  });
});

test("a variable in one binding takes its one window as its in-place gradient, as a split one", async () => {
  await withDevice(async (device, own) => {
    const random = rng(31);
    const init = randomValues(random, 3000);
    const store = own(new VariableStore(device));
    const [a, b] = ["a", "b"].map((name) => store.variable(name, [1000, 3], init));
    assert.equal(a.split, false);
    assert.equal(a.windows.length, 1);
    const grad = randomValues(random, 3000);
    for (const v of [a, b]) device.queue.writeBuffer(v.grad.buffer, v.grad.offset, grad);
    const opt = own(new Adagrad({ learningRate: 0.1 }));
    const twin = own(new Adagrad({ learningRate: 0.1 }));
    await opt.applyGradients([[a.windows, a]]);
    await twin.applyGradients([[b.grad, b]]);
    const [x, y] = [await a.read(), await b.read()];
    const ref = refState(init, 0.1);
    refStep(ref, grad, 0.1, 1e-7);
    assertCloseL2(x, ref.value, 2e-6, "one window in place");
    assert.deepEqual(x, y);
  });
});

test("a table past the default 128 MiB binding: sparse steps match float64, edges and last row", async () => {
  await withDevice(async (device, own) => {
    // 1,050,000 x 32 float32 = 134.4 MB: two windows on WebGPU's default limits.
    const rows = 1_050_000;
    const width = 32;
    const random = rng(16);
    const init = randomValues(random, rows * width);
    const store = own(new VariableStore(device));
    const table = store.variable("table", [rows, width], init);
    assert.equal(table.windows.length, 2);
    const edge = table.windows[1].first / width;
    const opt = own(new Adagrad({ learningRate: 0.05 }));
    const ref = refState(init, 0.1);
    for (let step = 0; step < 2; step++) {
      const indices = Int32Array.from([
        edge - 1,
        edge,
        edge,
        rows - 1,
        0,
        ...randomIndices(random, 300, rows, 20),
      ]);
      const values = randomValues(random, indices.length * width);
      await opt.applyGradients([[new IndexedSlices(values, indices, [rows, width]), table]]);
      refSparseStep(ref, width, indices, values, 0.05, 1e-7);
    }
    const got = await table.read();
    let touched = 0;
    for (let r = 0; r < rows; r++) {
      const changed = ref.value[r * width] !== init[r * width];
      for (let c = 0; c < width; c++) {
        const k = r * width + c;
        if (!changed) {
          if (got[k] !== init[k]) assert.fail(`untouched row ${r} changed`);
          continue;
        }
        const expected = ref.value[k];
        if (Math.abs(got[k] - expected) > 1e-5 * Math.max(1, Math.abs(expected))) {
          assert.fail(`row ${r} column ${c}: ${got[k]}, expected ${expected}`);
        }
      }
      if (changed) touched++;
    }
    assert.ok(touched > 300, `${touched} rows touched`);
  });
});

test("RowWiseAdagrad: dense gradients of a table past the default binding match float64", async () => {
  await withDevice(async (device, own) => {
    // 1,050,000 x 32 float32 = 134.4 MB: two windows on WebGPU's default limits, so the dense
    // gradient cannot be bound whole; the row kernel reads each window's rows in place.
    const [rows, width, lr, clipnorm] = [1_050_000, 32, 0.1, 3000];
    const store = own(new VariableStore(device));
    const table = store.variable("table", [rows, width], 0.5);
    assert.equal(table.windows.length, 2);
    const opt = own(new RowWiseAdagrad({ learningRate: lr, clipnorm }));
    const grad = (step: number, r: number, c: number) =>
      (((r * 31 + c * 7 + step * 13) % 97) - 48) / 50;
    const whole = (step: number) => {
      const g = new Float32Array(rows * width);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < width; c++) g[r * width + c] = grad(step, r, c);
      }
      return g;
    };
    // Step 0 in place, through the windows; step 1 uploaded from one Float32Array.
    const first = whole(0);
    for (const w of table.windows) {
      device.queue.writeBuffer(w.grad.buffer, w.grad.offset, first, w.first, w.length);
    }
    await opt.applyGradients([[table.windows, table]]);
    await opt.applyGradients([[whole(1), table]]);
    const got = await table.read();
    const accum = await opt.getSlot(table, "accumulator").read();
    // float64: one norm over the whole variable, then per row m += mean(g^2), w -= lr g / sqrt(m).
    const scale = [0, 1].map((step) => {
      let squares = 0;
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < width; c++) squares += Math.fround(grad(step, r, c)) ** 2;
      }
      const norm = Math.sqrt(squares);
      return norm > clipnorm ? clipnorm / norm : 1;
    });
    for (let r = 0; r < rows; r++) {
      const w = new Float64Array(width).fill(0.5);
      let m = 0.1;
      for (const step of [0, 1]) {
        const g = Array.from(
          { length: width },
          (_, c) => Math.fround(grad(step, r, c)) * scale[step],
        );
        m += g.reduce((s, x) => s + x * x, 0) / width;
        const multiplier = lr / (Math.sqrt(m) + 1e-7);
        g.forEach((x, c) => w[c] -= multiplier * x);
      }
      if (Math.abs(accum[r] - m) > 2e-5 * m) {
        assert.fail(`row ${r}: accumulator ${accum[r]}, expected ${m}`);
      }
      for (let c = 0; c < width; c++) {
        const k = r * width + c;
        if (Math.abs(got[k] - w[c]) > 2e-5 * Math.max(1, Math.abs(w[c]))) {
          assert.fail(`row ${r} column ${c}: ${got[k]}, expected ${w[c]}`);
        }
      }
    }
  });
});

test("Keras 3's and PyTorch's rules on split variables equal one buffer's to the bit", async () => {
  const makers = [
    () => Adagrad.keras3({ learningRate: 0.05, weightDecay: 0.01, useEma: true, clipnorm: 3 }),
    () => Adagrad.torch({ lr: 0.05, lrDecay: 0.01, weightDecay: 0.02 }),
  ];
  for (const make of makers) {
    await withDevice(async (device, own) => {
      const split = model(device, own, ARENA, 21);
      const whole = model(device, own, undefined, 21);
      const a = own(make());
      const b = own(make());
      const random = rng(22);
      for (let step = 0; step < 3; step++) {
        const grads = Object.values(SHAPES).map((s) =>
          randomValues(random, s.reduce((x, y) => x * y, 1))
        );
        // The vector skips step 1: PyTorch's per-variable step counts differ then.
        const pairs = (m: Model) =>
          Object.values(m.vars).map((v, i) =>
            [step === 1 && i === 1 ? null : grads[i], v] as const
          );
        await skippingVariables(() => a.applyGradients(pairs(split)));
        await skippingVariables(() => b.applyGradients(pairs(whole)));
      }
      for (const name of Object.keys(SHAPES)) {
        const slots = a.getSlotNames();
        for (const slot of slots) {
          const x = new Uint32Array((await a.getSlot(split.vars[name], slot).read()).buffer);
          const y = new Uint32Array((await b.getSlot(whole.vars[name], slot).read()).buffer);
          assertSameBits([x], [y], `${a.rule} ${name} ${slot}`);
        }
        const x = new Uint32Array((await split.vars[name].read()).buffer);
        const y = new Uint32Array((await whole.vars[name].read()).buffer);
        assertSameBits([x], [y], `${a.rule} ${name}`);
        assertMoved(await split.vars[name].read(), split.init[name], `${a.rule} ${name}`);
      }
    });
  }
});

test("ProximalAdagrad, AdagradDA and FBGEMM's row-wise options on split variables equal one buffer's", async () => {
  const makers: (() => AdagradBase<object>)[] = [
    () => new ProximalAdagrad({ learningRate: 0.3, l1RegularizationStrength: 0.05, clipnorm: 50 }),
    () =>
      new AdagradDA({
        learningRate: 0.3,
        l1RegularizationStrength: 0.02,
        l2RegularizationStrength: 0.1,
      }),
    () => new RowWiseAdagrad({ learningRate: 0.1, weightDecay: 0.05, maxNorm: 2 }),
    () =>
      new RowWiseAdagrad({ learningRate: 0.1, weightDecay: 0.05, weightDecayMode: "decoupled" }),
  ];
  for (const make of makers) {
    await withDevice(async (device, own) => {
      const split = model(device, own, ARENA, 23);
      const whole = model(device, own, undefined, 23);
      const a = own(make());
      const b = own(make());
      const random = rng(24);
      const [rows, width] = SHAPES.table;
      for (let step = 0; step < 3; step++) {
        const grads: Gradient[] = Object.values(SHAPES).map((s) =>
          randomValues(random, s.reduce((x, y) => x * y, 1))
        );
        // Step 1: the table's rows at both sides of each window edge, with duplicates.
        if (step === 1) {
          const edges = [0, 16383, 16384, 32767, 32768, rows - 1];
          const indices = Int32Array.from([...edges, ...randomIndices(random, 3000, rows, 50)]);
          grads[0] = new IndexedSlices(
            randomValues(random, indices.length * width),
            indices,
            SHAPES.table,
          );
        }
        const pairs = (m: Model) => Object.values(m.vars).map((v, i) => [grads[i], v] as const);
        await a.applyGradients(pairs(split));
        await b.applyGradients(pairs(whole));
      }
      const what = `${a.constructor.name} ${JSON.stringify(a.getConfig())}`;
      for (const name of Object.keys(SHAPES)) {
        for (const slot of a.getSlotNames()) {
          const x = new Uint32Array((await a.getSlot(split.vars[name], slot).read()).buffer);
          const y = new Uint32Array((await b.getSlot(whole.vars[name], slot).read()).buffer);
          assertSameBits([x], [y], `${what} ${name} ${slot}`);
        }
        const x = new Uint32Array((await split.vars[name].read()).buffer);
        const y = new Uint32Array((await whole.vars[name].read()).buffer);
        assertSameBits([x], [y], `${what} ${name}`);
        assertMoved(await split.vars[name].read(), split.init[name], `${what} ${name}`);
      }
    });
  }
});
