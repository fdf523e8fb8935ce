// ProximalAdagrad, AdagradDA and FBGEMM's row-wise options on the GPU against their float64
// references (_proximal_reference.ts): multi-step dense runs over variables of sizes around the
// workgroup and tile sizes, in small arenas and in the caller's own buffer (the scalar kernel), and
// sparse runs with duplicate indices beside dense gradients, on fresh random data. Every slot is
// compared, and rows no step touched keep their bits.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AdagradBase,
  AdagradDA,
  ExponentialDecay,
  type GradientPair,
  IndexedSlices,
  LossScaleOptimizer,
  ProximalAdagrad,
  RowWiseAdagrad,
  type RowWiseAdagradOptions,
  VariableStore,
} from "../../mod.ts";
import { COPY_DST, COPY_SRC, STORAGE } from "../../src/_common/usage.ts";
import { halfBits, halfValue } from "../../src/_common/float16.ts";
import { Snapshot, withDevice } from "../_gpu.ts";
import { skippingVariables } from "../_console.ts";
import {
  assertCloseL2,
  type Clip,
  randomIndices,
  randomValues,
  refClip,
  rng,
} from "../_reference.ts";
import {
  adagradDAStep,
  coalesce,
  denseRows,
  type FamilyState,
  familyState,
  fbgemmRowWiseStep,
  proximalStep,
  type Strengths,
} from "../_proximal_reference.ts";
import { type Tracked as TrackedOf, trackedVariables } from "./_tracked.ts";

const TOL = 2e-5;
const f = Math.fround;
type Family = "proximal" | "adagradDA";
type Tracked = TrackedOf<FamilyState>;

/** The tracked variables of a family whose slots start at `initial`. */
const variables = (
  device: GPUDevice,
  own: <D extends { destroy(): void }>(d: D) => D,
  random: () => number,
  initial: number,
): Tracked[] =>
  trackedVariables(device, own, random, (init) => familyState(init, init.length, initial));

async function compare(
  device: GPUDevice,
  opt: AdagradBase<object>,
  tracked: Tracked[],
  what: string,
) {
  const snap = new Snapshot(device);
  for (const t of tracked) {
    const at = `${what}: ${t.name}`;
    const slot = async (name: string) => await snap.slice(opt.getSlot(t.ref, name).region);
    assertCloseL2(await snap.slice(t.region), t.state.value, TOL, `${at} variable`);
    if (opt instanceof AdagradDA) {
      assertCloseL2(await slot("gradient_accumulator"), t.state.gradientSum, TOL, `${at} sums`);
      assertCloseL2(
        await slot("gradient_squared_accumulator"),
        t.state.accum,
        TOL,
        `${at} squares`,
      );
    } else {
      assertCloseL2(await slot("accumulator"), t.state.accum, TOL, `${at} accumulator`);
    }
  }
}

/** A dense run of `family`: `steps` steps of fresh gradients for every variable. */
async function denseRun(
  family: Family,
  strengths: { l1: number; l2: number },
  clip: Clip,
  steps: number,
  seed: number,
  schedule?: ExponentialDecay,
) {
  await withDevice(async (device, own) => {
    const random = rng(seed);
    const lr = 0.4;
    const options = {
      learningRate: schedule ?? lr,
      l1RegularizationStrength: strengths.l1,
      l2RegularizationStrength: strengths.l2,
      ...clip,
    };
    const opt = own(
      family === "proximal"
        ? new ProximalAdagrad({ ...options, initialAccumulatorValue: 0.2 })
        : new AdagradDA({ ...options, initialGradientSquaredAccumulatorValue: 0.2 }),
    );
    const tracked = variables(device, own, random, 0.2);
    let zeros = 0;
    for (let step = 0; step < steps; step++) {
      const grads = tracked.map((t) => randomValues(random, t.n));
      await opt.applyGradients(grads.map((g, k) => [g, tracked[k].ref] as GradientPair));
      const clipped = refClip(grads.map((g) => Float64Array.from(g)), clip);
      const s: Strengths = {
        lr: f(schedule ? schedule.call(step) : lr),
        l1: f(strengths.l1),
        l2: f(strengths.l2),
      };
      tracked.forEach((t, k) => {
        const rows = denseRows(clipped[k], 1);
        if (family === "proximal") proximalStep(t.state, rows, 1, s);
        else adagradDAStep(t.state, rows, 1, s, step + 1);
      });
    }
    for (const t of tracked) zeros += t.state.value.filter((x) => x === 0).length;
    if (strengths.l1 > 0) assert.ok(zeros > 0, "L1 should leave exact zeros in the reference");
    await compare(device, opt, tracked, `${family} ${JSON.stringify({ ...strengths, ...clip })}`);
  });
}

test("ProximalAdagrad dense: L1 and L2 with clipnorm, float64 reference over 5 steps", async () => {
  await denseRun("proximal", { l1: 0.3, l2: 0.1 }, { clipnorm: 40 }, 5, 31);
});

test("ProximalAdagrad dense: L2 only, clipvalue and a schedule", async () => {
  await denseRun(
    "proximal",
    { l1: 0, l2: 0.5 },
    { clipvalue: 1.2 },
    4,
    32,
    new ExponentialDecay(0.4, 2, 0.7),
  );
});

test("AdagradDA dense: L1 and L2 with globalClipnorm, float64 reference over 5 steps (T grows)", async () => {
  await denseRun("adagradDA", { l1: 0.05, l2: 0.2 }, { globalClipnorm: 100 }, 5, 33);
});

test("AdagradDA dense: no regularization, a schedule", async () => {
  await denseRun("adagradDA", { l1: 0, l2: 0 }, {}, 4, 34, new ExponentialDecay(0.4, 2, 0.7));
});

for (const family of ["proximal", "adagradDA"] as const) {
  test(`${family}: IndexedSlices with duplicates beside dense gradients; untouched rows keep bits`, async () => {
    await withDevice(async (device, own) => {
      const random = rng(family === "proximal" ? 41 : 42);
      const store = own(new VariableStore(device));
      const s: Strengths = { lr: f(0.3), l1: f(0.02), l2: f(0.05) };
      const opt = own(
        family === "proximal"
          ? new ProximalAdagrad({
            learningRate: 0.3,
            l1RegularizationStrength: 0.02,
            l2RegularizationStrength: 0.05,
          })
          : new AdagradDA({
            learningRate: 0.3,
            l1RegularizationStrength: 0.02,
            l2RegularizationStrength: 0.05,
          }),
      );
      const tables = [[5000, 3], [1000, 16], [17, 1]].map(([rows, width], i) => {
        const init = randomValues(random, rows * width);
        const v = store.variable(`emb${i}`, [rows, width], init);
        return {
          v,
          rows,
          width,
          init,
          state: familyState(init, rows * width, 0.1),
          touched: new Set<number>(),
        };
      });
      const denseInit = randomValues(random, 4097);
      const dense = store.variable("dense", [4097], denseInit);
      const denseState = familyState(denseInit, 4097, 0.1);
      const step = (st: FamilyState, rows: Map<number, Float64Array>, width: number, t: number) =>
        family === "proximal"
          ? proximalStep(st, rows, width, s)
          : adagradDAStep(st, rows, width, s, t);
      for (let k = 0; k < 5; k++) {
        const pairs: GradientPair[] = tables.map((t) => {
          if (k > 0 && random() < 0.3) return [null, t.v];
          const indices = randomIndices(random, 600, t.rows, 40);
          const values = randomValues(random, indices.length * t.width);
          indices.forEach((r) => t.touched.add(r));
          step(t.state, coalesce(indices, values, t.width), t.width, k + 1);
          return [new IndexedSlices(values, indices, [t.rows, t.width]), t.v];
        });
        const g = randomValues(random, 4097);
        step(denseState, denseRows(g, 1), 1, k + 1);
        await skippingVariables(() => opt.applyGradients([...pairs, [g, dense]]));
      }
      const slots = opt.getSlotNames();
      for (const t of tables) {
        const value = await t.v.read();
        assertCloseL2(value, t.state.value, TOL, `${t.v.name} variable`);
        const squares = await opt.getSlot(t.v, slots[slots.length - 1]).read();
        assertCloseL2(squares, t.state.accum, TOL, `${t.v.name} ${slots[slots.length - 1]}`);
        if (family === "adagradDA") {
          const sums = await opt.getSlot(t.v, "gradient_accumulator").read();
          assertCloseL2(sums, t.state.gradientSum, TOL, `${t.v.name} gradient sums`);
        }
        let untouched = 0;
        for (let r = 0; r < t.rows; r++) {
          if (t.touched.has(r)) continue;
          untouched++;
          for (let c = 0; c < t.width; c++) {
            const i = r * t.width + c;
            assert.ok(Object.is(value[i], t.init[i]), `${t.v.name} row ${r} changed`);
          }
        }
        assert.ok(untouched > 0 || t.rows === 17, `${t.v.name}: some rows untouched`);
      }
      assertCloseL2(await dense.read(), denseState.value, TOL, "dense variable");
    });
  });
}

const ROW_WISE: [string, RowWiseAdagradOptions & { learningRate: number }, Clip][] = [
  ["L2 decay", { learningRate: 0.05, weightDecay: 0.3 }, {}],
  ["decoupled decay, clipnorm", {
    learningRate: 0.05,
    weightDecay: 0.3,
    weightDecayMode: "decoupled",
    clipnorm: 20,
  }, { clipnorm: 20 }],
  ["maxNorm", { learningRate: 0.5, maxNorm: 2.5 }, {}],
  ["L2 decay, maxNorm, clipvalue", {
    learningRate: 0.5,
    weightDecay: 0.1,
    maxNorm: 2.5,
    clipvalue: 0.8,
  }, { clipvalue: 0.8 }],
];

for (const [label, options, clip] of ROW_WISE) {
  test(`RowWiseAdagrad with FBGEMM's ${label}: sparse with duplicates and dense, float64 reference`, async () => {
    await withDevice(async (device, own) => {
      const random = rng(51);
      const store = own(new VariableStore(device));
      const [rows, width] = [2000, 33];
      const tableInit = randomValues(random, rows * width);
      const denseInit = randomValues(random, 300 * 7);
      const table = store.variable("table", [rows, width], tableInit);
      const dense = store.variable("dense", [300, 7], denseInit);
      const opt = own(new RowWiseAdagrad({ initialAccumulatorValue: 0.2, ...options }));
      const states = [familyState(tableInit, rows, 0.2), familyState(denseInit, 300, 0.2)];
      const settings = {
        lr: f(options.learningRate),
        eps: f(1e-7),
        weightDecay: f(options.weightDecay ?? 0),
        mode: options.weightDecayMode,
        maxNorm: f(options.maxNorm ?? 0),
      };
      const touched = new Set<number>();
      for (let step = 0; step < 4; step++) {
        const indices = randomIndices(random, 1500, rows, 30);
        indices.forEach((i) => touched.add(i));
        const values = randomValues(random, 1500 * width);
        const gDense = randomValues(random, 300 * 7);
        await opt.applyGradients([
          [new IndexedSlices(values, indices, [rows, width]), table],
          [gDense, dense],
        ]);
        // Keras's clipnorm takes each IndexedSlices' values as given, duplicates apart.
        const [c0, c1] = refClip([values, gDense].map((g) => Float64Array.from(g)), clip);
        fbgemmRowWiseStep(states[0], coalesce(indices, c0, width), width, settings);
        fbgemmRowWiseStep(states[1], denseRows(c1, 7), 7, settings);
      }
      for (const [i, v] of [table, dense].entries()) {
        assertCloseL2(await v.read(), states[i].value, TOL, `${v.name} variable`);
        assertCloseL2(
          await opt.getSlot(v, "accumulator").read(),
          states[i].accum,
          TOL,
          `${v.name} accumulator`,
        );
      }
      if (options.maxNorm) {
        const value = await table.read();
        for (const r of touched) {
          const norm = Math.hypot(...value.subarray(r * width, (r + 1) * width));
          assert.ok(norm <= options.maxNorm * (1 + 1e-6), `row ${r}: norm ${norm}`);
        }
      }
      const value = await table.read();
      for (let r = 0; r < rows; r++) {
        if (touched.has(r)) continue;
        for (let c = 0; c < width; c++) {
          assert.ok(Object.is(value[r * width + c], tableInit[r * width + c]), `row ${r} decayed`);
        }
      }
    });
  });
}

test("AdagradDA writes nothing outside the variables, though it reads none (vec4 tails)", async () => {
  await withDevice(async (device, own) => {
    const random = rng(61);
    const store = own(new VariableStore(device));
    const vars = [5, 7, 13, 4097, 1].map((n, i) =>
      store.variable(`p${i}`, [n], randomValues(random, n))
    );
    // Garbage in the variables arena's padding: a lane that wrote there would clear it.
    const arena = vars[0].buffer;
    const values = await Promise.all(vars.map((v) => v.read()));
    device.queue.writeBuffer(arena, 0, new Float32Array(arena.size / 4).fill(7));
    vars.forEach((v, k) => v.write(values[k]));
    const opt = own(new AdagradDA({ learningRate: 0.1, l1RegularizationStrength: 0.01 }));
    for (let step = 0; step < 2; step++) {
      await opt.applyGradients(vars.map((v) => [randomValues(random, v.length), v] as const));
    }
    const all = await new Snapshot(device).slice({
      buffer: arena,
      offset: 0,
      byteLength: arena.size,
    });
    const inside = new Set<number>();
    for (const v of vars) for (let i = 0; i < v.length; i++) inside.add(v.offset / 4 + i);
    let padding = 0;
    for (let i = 0; i < all.length; i++) {
      if (inside.has(i)) continue;
      padding++;
      assert.equal(all[i], 7, `variables arena element ${i} (padding) changed`);
    }
    assert.ok(padding > 0);
  });
});

test("ProximalAdagrad: skipNonFinite skips a NaN step whole; a dynamic loss scale's scaled gradients give the same bits", async () => {
  await withDevice(async (device, own) => {
    const random = rng(71);
    const init = randomValues(random, 3000);
    const grads = [randomValues(random, 3000), randomValues(random, 3000)];
    const options = {
      learningRate: 0.2,
      l1RegularizationStrength: 0.05,
      l2RegularizationStrength: 0.1,
    };
    const run = async (opt: AdagradBase<object> | LossScaleOptimizer<object>, nan: boolean) => {
      const store = own(new VariableStore(device));
      const v = store.variable("v", [3000], init);
      const scaled = opt instanceof LossScaleOptimizer;
      const scale = scaled ? await opt.lossScale() : 1;
      for (const [k, g] of grads.entries()) {
        if (k === 1 && nan) {
          const bad = Float32Array.from(g);
          bad[1234] = NaN;
          await opt.applyGradients([[bad, v]]);
        }
        const given = g.map((x) => x * scale);
        if (opt instanceof LossScaleOptimizer) {
          await opt.applyGradients([[given, v]], { scaled: true });
        } else await opt.applyGradients([[given, v]]);
      }
      const inner = opt instanceof LossScaleOptimizer ? opt.innerOptimizer : opt;
      // The optimizer learns of skipped steps in the background; this brings it up to date.
      await inner.skippedSteps();
      return {
        value: new Uint32Array((await v.read()).buffer),
        accumulator: new Uint32Array((await inner.getSlot(v, "accumulator").read()).buffer),
        iterations: inner.iterations,
      };
    };
    const plain = await run(own(new ProximalAdagrad(options)), false);
    // The plain run is TF's kernel in float64; the others must give its bits.
    const reference = familyState(init, 3000, 0.1);
    const strengths: Strengths = { lr: f(0.2), l1: f(0.05), l2: f(0.1) };
    for (const g of grads) proximalStep(reference, denseRows(g, 1), 1, strengths);
    assertCloseL2(new Float32Array(plain.value.buffer), reference.value, TOL, "plain run");
    const guarded = own(new ProximalAdagrad({ ...options, skipNonFinite: true }));
    assert.deepEqual(await run(guarded, true), plain, "skipNonFinite");
    assert.equal(await guarded.skippedSteps(), 1);
    const wrapped = own(new LossScaleOptimizer(new ProximalAdagrad(options)));
    assert.deepEqual(await run(wrapped, false), plain, "LossScaleOptimizer");
    assert.ok(plain.value.some((bits) => bits === 0), "L1 left exact zeros");
  });
});

test("ProximalAdagrad and AdagradDA: IndexedSlices into a variable of your own buffer", async () => {
  await withDevice(async (device, own) => {
    for (const family of ["proximal", "adagradDA"] as const) {
      const random = rng(91);
      const [rows, width] = [300, 5];
      const buffer = own(
        device.createBuffer({ size: 4 * 2000, usage: STORAGE | COPY_SRC | COPY_DST }),
      );
      const init = randomValues(random, rows * width);
      device.queue.writeBuffer(buffer, 400, init);
      const ref = { buffer, offset: 400, size: 4 * rows * width, name: "mine" };
      const options = { learningRate: 0.3, l1RegularizationStrength: 0.01, device };
      const opt = own(
        family === "proximal" ? new ProximalAdagrad(options) : new AdagradDA(options),
      );
      const state = familyState(init, rows * width, 0.1);
      const s: Strengths = { lr: f(0.3), l1: f(0.01), l2: 0 };
      for (let t = 1; t <= 3; t++) {
        const ids = Int32Array.from({ length: 200 }, () => Math.floor(random() * rows));
        const values = randomValues(random, 200 * width);
        await opt.applyGradients([[new IndexedSlices(values, ids, [rows, width]), ref]]);
        const touched = coalesce(ids, values, width);
        if (family === "proximal") proximalStep(state, touched, width, s);
        else adagradDAStep(state, touched, width, s, t);
      }
      const snap = new Snapshot(device);
      const value = await snap.slice({ buffer, offset: 400, byteLength: 4 * rows * width });
      assertCloseL2(value, state.value, TOL, `${family} variable`);
      const last = opt.getSlotNames().at(-1)!;
      assertCloseL2(
        await snap.slice(opt.getSlot(ref, last).region),
        state.accum,
        TOL,
        `${family} ${last}`,
      );
    }
  });
});

test("the family with float16 gradients (a gradDtype float16 store) equals float32 steps of the same values, bit for bit", async () => {
  await withDevice(async (device, own) => {
    const makers = [
      () => new ProximalAdagrad({ learningRate: 0.2, l1RegularizationStrength: 0.05 }),
      () => new AdagradDA({ learningRate: 0.2, l1RegularizationStrength: 0.02 }),
    ];
    const steps:
      ((st: FamilyState, rows: Map<number, Float64Array>, width: number, t: number) => void)[] = [
        (st, rows, width) => proximalStep(st, rows, width, { lr: f(0.2), l1: f(0.05), l2: 0 }),
        (st, rows, width, t) =>
          adagradDAStep(st, rows, width, { lr: f(0.2), l1: f(0.02), l2: 0 }, t),
      ];
    for (const [k, make] of makers.entries()) {
      const random = rng(95);
      const init = randomValues(random, 4099);
      const tableInit = randomValues(random, 500 * 8);
      const halves = [0, 1, 2].map(() => Uint16Array.from(randomValues(random, 4099), halfBits));
      const ids = Int32Array.from({ length: 300 }, () => Math.floor(random() * 500));
      const rowHalves = Uint16Array.from(randomValues(random, 300 * 8), halfBits);
      const run = async (dtype: "float16" | "float32") => {
        const store = own(new VariableStore(device, { gradDtype: dtype }));
        const v = store.variable("v", [4099], init);
        const table = store.variable("t", [500, 8], tableInit);
        const opt = own(make());
        for (const h of halves) {
          // The same values: halves, or the float32s they stand for.
          const dense = dtype === "float16" ? h : Float32Array.from(h, halfValue);
          const rows = dtype === "float16" ? rowHalves : Float32Array.from(rowHalves, halfValue);
          await opt.applyGradients([[dense, v], [new IndexedSlices(rows, ids, [500, 8]), table]]);
        }
        const bits = (x: Float32Array) => Array.from(new Uint32Array(x.buffer));
        return [bits(await v.read()), bits(await table.read())];
      };
      const half = await run("float16");
      assert.deepEqual(half, await run("float32"), make().constructor.name);
      // Both are the rule's kernel in float64, on the values the halves stand for.
      const vector = familyState(init, 4099, 0.1);
      const table = familyState(tableInit, 500 * 8, 0.1);
      halves.forEach((h, t) => {
        steps[k](vector, denseRows(Float32Array.from(h, halfValue), 1), 1, t + 1);
        steps[k](table, coalesce(ids, Float32Array.from(rowHalves, halfValue), 8), 8, t + 1);
      });
      const floats = (bits: number[]) => new Float32Array(Uint32Array.from(bits).buffer);
      assertCloseL2(floats(half[0]), vector.value, TOL, `${make().constructor.name} vector`);
      assertCloseL2(floats(half[1]), table.value, TOL, `${make().constructor.name} table`);
    }
  });
});
