// Keras's gradient clipping (OptimizerV2, TF 2.4-2.10): clipvalue, then clipnorm or
// global_clipnorm, fused on the GPU, against a float64 reference.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Adagrad,
  type AdagradOptions,
  type GradientPair,
  type Variable,
  VariableStore,
} from "../../mod.ts";
import { kernelsFor, SERIAL_PARTIALS } from "../../src/_kernels/kernels.ts";
import { PLAIN_SPECIALISATION } from "../../src/_kernels/specialisation.ts";
import { PARAMS, VARIABLE_TABLE } from "../../src/_kernels/shader_interface.ts";
import { COPY_DST, COPY_SRC, STORAGE, UNIFORM } from "../../src/_common/usage.ts";
import { Snapshot, withDevice } from "../_gpu.ts";
import { assertMoved } from "../_moved.ts";
import { skippingVariables } from "../_console.ts";
import {
  assertAllClose,
  assertCloseL2,
  type Clip,
  randomValues,
  refClip,
  type RefState,
  refState,
  refStep,
  rng,
} from "../_reference.ts";

test("Keras analogues of testGradClipValue / Norm / GlobalClipNorm, with Adagrad(1.0)", async () => {
  await withDevice(async (device, own) => {
    const store = own(new VariableStore(device));
    const step = async (options: AdagradOptions, inits: number[][], grads: number[][]) => {
      const vars = inits.map((init, i) =>
        store.variable(`v${store.variables.length}_${i}`, [init.length], new Float32Array(init))
      );
      const opt = own(new Adagrad({ learningRate: 1.0, ...options }));
      await opt.applyGradients(vars.map((v, i) => [new Float32Array(grads[i]), v]));
      return { opt, vars };
    };
    // Expected values: TF's float32 CPU kernel, emulated (reference file, section 6.4).
    const a = await step({ clipvalue: 1 }, [[1, 2]], [[3, 3]]);
    assertAllClose(await a.vars[0].read(), [0.04653745889663696, 1.0465373992919922], "clipvalue");
    assertAllClose(await a.opt.getSlot(a.vars[0], "accumulator").read(), [
      1.100000023841858,
      1.100000023841858,
    ], "acc");
    const b = await step({ clipnorm: 1 }, [[1]], [[3]]);
    assertAllClose(await b.vars[0].read(), [0.04653745889663696], "clipnorm");
    const c = await step({ globalClipnorm: 2 }, [[1], [2]], [[3], [4]]);
    assertAllClose(await c.vars[0].read(), [0.0330125093460083], "global var1");
    assertAllClose(await c.vars[1].read(), [1.018977165222168], "global var2");
    assertAllClose(
      await c.opt.getSlot(c.vars[0], "accumulator").read(),
      [1.540000081062317],
      "global acc1",
    );
    assertAllClose(
      await c.opt.getSlot(c.vars[1], "accumulator").read(),
      [2.6600000858306885],
      "global acc2",
    );
    // clipvalue comes first: [3, -4] -> [2.5, -2.5] -> [0.7071, -0.7071] (the reverse order
    // would give [0.6, -0.8]); the accumulator shows the clipped gradient squared.
    const d = await step({ clipvalue: 2.5, clipnorm: 1 }, [[1, 1]], [[3, -4]]);
    const g = 0.7071067690849304;
    assertAllClose(
      await d.opt.getSlot(d.vars[0], "accumulator").read(),
      [0.1 + g * g, 0.1 + g * g],
      "order",
    );
  });
});

interface Case {
  name: string;
  clip: Clip;
  sizes: number[];
  maxArenaBytes?: number;
  skip?: number; // every skip-th variable has no gradient
  scale?: number; // gradient magnitudes, to make clipping bite or not
}

const CASES: Case[] = [
  { name: "clipvalue", clip: { clipvalue: 0.5 }, sizes: [1, 257, 4097, 10_001] },
  {
    name: "clipnorm, edge sizes",
    clip: { clipnorm: 3 },
    sizes: [1, 2, 255, 256, 257, 4095, 4096, 4097, 12_289, 70_001],
  },
  {
    name: "clipnorm with clipvalue",
    clip: { clipnorm: 2, clipvalue: 0.3 },
    sizes: [7, 5000, 9000],
  },
  {
    name: "global_clipnorm, edge sizes",
    clip: { globalClipnorm: 10 },
    sizes: [1, 255, 4097, 70_001],
  },
  {
    name: "global_clipnorm with clipvalue",
    clip: { globalClipnorm: 4, clipvalue: 0.7 },
    sizes: [33, 8191],
  },
  {
    name: "clipnorm across arenas, skipped variables",
    clip: { clipnorm: 1.5 },
    sizes: Array.from({ length: 40 }, (_, i) => 1 + ((i * 7919) % 9000)),
    maxArenaBytes: 40 * 1024,
    skip: 4,
  },
  {
    name: "global_clipnorm across arenas, skipped variables",
    clip: { globalClipnorm: 20 },
    sizes: Array.from({ length: 40 }, (_, i) => 1 + ((i * 7919) % 9000)),
    maxArenaBytes: 40 * 1024,
    skip: 3,
  },
  {
    name: "global norm below the clip: gradients unchanged",
    clip: { globalClipnorm: 1e6 },
    sizes: [100, 3000],
  },
  // More than 64 reduction tiles (SERIAL_PARTIALS): the workgroup adds those partials together.
  // One such variable sits past the workgroup's lanes (index 300), between small ones, and steps
  // skip variables, so the list of large ones changes from step to step.
  {
    name: "clipnorm, variables of more than 64 reduction tiles",
    clip: { clipnorm: 40 },
    sizes: [2_200_003, 17, ...Array.from({ length: 298 }, (_, i) => 1 + i % 5), 2_100_001, 3],
    skip: 7,
  },
  {
    name: "global_clipnorm, variables of more than 64 reduction tiles",
    clip: { globalClipnorm: 60 },
    sizes: [2_200_003, 17, ...Array.from({ length: 298 }, (_, i) => 1 + i % 5), 2_100_001, 3],
    skip: 5,
  },
  {
    name: "1,200 variables, clipnorm",
    clip: { clipnorm: 1 },
    sizes: Array.from({ length: 1200 }, (_, i) => 1 + (i * 37) % 300),
  },
  {
    name: "1,200 variables, global_clipnorm",
    clip: { globalClipnorm: 5 },
    sizes: Array.from({ length: 1200 }, (_, i) => 1 + (i * 37) % 300),
  },
];

for (const c of CASES) {
  test(`${c.name}: 3 steps against the float64 reference`, async () => {
    await withDevice(async (device) => {
      const random = rng(c.sizes.length * 31 + c.sizes[0]);
      const store = new VariableStore(
        device,
        c.maxArenaBytes ? { maxArenaBytes: c.maxArenaBytes } : {},
      );
      const lr = 0.05;
      const opt = new Adagrad({ learningRate: lr, ...c.clip });
      const tracked: { v: Variable; ref: RefState; updated: boolean }[] = c.sizes.map((n, i) => {
        const init = randomValues(random, n);
        return { v: store.variable(`v${i}`, [n], init), ref: refState(init, 0.1), updated: false };
      });
      if (c.maxArenaBytes) assert.ok(store.arenaCount > 3, `${store.arenaCount} arenas`);
      // NaN in the gradient arenas' padding: a sum of squares that strayed past a variable's end
      // (the vec4 kernels' last vector) would make its norm NaN.
      for (const buffer of new Set(tracked.map((t) => t.v.grad.buffer))) {
        device.queue.writeBuffer(buffer, 0, new Float32Array(buffer.size / 4).fill(NaN));
      }
      for (let step = 0; step < 3; step++) {
        const active = tracked.filter((_, i) => !c.skip || (i + step) % c.skip !== 0);
        const grads = active.map((t) => randomValues(random, t.v.length, 0.05, c.scale ?? 2));
        const clipped = refClip(grads.map((g) => Float64Array.from(g)), c.clip);
        active.forEach((t, k) => {
          refStep(t.ref, clipped[k], Math.fround(lr), Math.fround(1e-7));
          t.updated = true;
        });
        const pairs: GradientPair[] = tracked.map((t) => {
          const k = active.indexOf(t);
          return [k < 0 ? null : grads[k], t.v];
        });
        await skippingVariables(() => opt.applyGradients(pairs));
      }
      const snap = new Snapshot(device);
      for (const t of tracked) {
        assertCloseL2(await snap.slice(t.v), t.ref.value, 1e-5, t.v.name);
        if (t.updated) {
          const acc = await snap.slice(opt.getSlot(t.v, "accumulator").region);
          assertCloseL2(acc, t.ref.accum, 1e-5, `${t.v.name} accumulator`);
        }
      }
      opt.destroy();
      store.destroy();
    });
  });
}

test("norm clipping is bit-identical from run to run (fixed-order sums)", async () => {
  await withDevice(async (device, own) => {
    // Several reduction tiles (32,768 elements) per variable, and more than one variable: the
    // norms add thread sums, tile partials and variables, each in a fixed order. A race between
    // workgroups would show where their scheduling varies (GPUs; SwiftShader in the browser
    // suite); lavapipe runs a workgroup's invocations in a fixed order, so there this test is a
    // smoke check, and the float64 reference cases catch a missing barrier.
    const sizes = [70_001, 4097, 3, 100_003];
    const run = async (clip: AdagradOptions) => {
      const random = rng(77);
      const store = own(new VariableStore(device));
      const opt = own(new Adagrad({ learningRate: 0.05, ...clip }));
      const init = sizes.map((n) => randomValues(random, n));
      const vars = sizes.map((n, i) => store.variable(`v${i}`, [n], init[i]));
      for (let step = 0; step < 3; step++) {
        await opt.applyGradients(vars.map((v) => [randomValues(random, v.length, 0.05, 2), v]));
      }
      return Promise.all(
        vars.map(async (v, i) => {
          const values = await v.read();
          assertMoved(values, init[i], `${JSON.stringify(clip)} ${v.name}`); // runs that did nothing
          return Array.from(new Uint32Array(values.buffer));
        }),
      );
    };
    for (const clip of [{ clipnorm: 1 }, { globalClipnorm: 3, clipvalue: 1.5 }]) {
      const first = await run(clip);
      for (let again = 0; again < 2; again++) {
        assert.deepEqual(await run(clip), first, JSON.stringify(clip));
      }
    }
  });
});

test("non-finite norms: NaN for every gradient (global_clipnorm) or the variable's (clipnorm), as TF", async () => {
  await withDevice(async (device) => {
    const store = new VariableStore(device);
    const a = store.variable("a", [3], 1);
    const b = store.variable("b", [5000], 2);
    const opt = new Adagrad({ learningRate: 0.1, globalClipnorm: 1 });
    const ga = new Float32Array([1, Infinity, 1]);
    await opt.applyGradients([[ga, a], [new Float32Array(5000).fill(0.5), b]]);
    for (const v of [a, b]) {
      assert.ok((await v.read()).every(Number.isNaN), `${v.name} should be all NaN`);
    }
    // Plain clipnorm keeps the other variable finite: its own norm is finite. A NaN makes its
    // variable's norm NaN, and tf.maximum (TF 2.4+) keeps it, so every element of that gradient
    // is NaN. A norm that overflows to infinity divides each finite element to 0.
    const c = store.variable("c", [4], 1);
    const d = store.variable("d", [4], 1);
    const e = store.variable("e", [4], 1);
    const opt2 = new Adagrad({ learningRate: 0.1, clipnorm: 1 });
    await opt2.applyGradients([
      [new Float32Array([1, 2, 3, 4]), c],
      [new Float32Array([NaN, 0, 0, 0]), d],
      [new Float32Array([1e20, -3e19, 0.5, 1e20]), e],
    ]);
    assert.ok((await c.read()).every(Number.isFinite));
    assert.ok((await d.read()).every(Number.isNaN), "d should be all NaN");
    assert.deepEqual(await e.read(), new Float32Array(4).fill(1), "e: every gradient 0");
    opt.destroy();
    opt2.destroy();
    store.destroy();
  });
});

test("all-zero gradients under norm clipping leave variables finite (norm 0)", async () => {
  await withDevice(async (device) => {
    const store = new VariableStore(device);
    const v = store.variable("v", [300], 1.5);
    for (const clip of [{ clipnorm: 1 }, { globalClipnorm: 1 }, { clipnorm: 0 }]) {
      const opt = new Adagrad({ learningRate: 0.1, ...clip });
      await opt.applyGradients([[new Float32Array(300), v]]);
      assert.deepEqual(await v.read(), new Float32Array(300).fill(1.5), JSON.stringify(clip));
      opt.destroy();
    }
    store.destroy();
  });
});

test("clipping options: Keras's validation, wording and config round trip", () => {
  assert.throws(
    () => new Adagrad({ clipnorm: -1 }),
    /^RangeError: Expected clipnorm >= 0, received: -1$/,
  );
  assert.throws(() => new Adagrad({ clipvalue: -0.5 }), /Expected clipvalue >= 0, received: -0.5/);
  assert.throws(
    () => new Adagrad({ globalClipnorm: -2 }),
    /Expected global_clipnorm >= 0, received: -2/,
  );
  assert.throws(() => new Adagrad({ clipnorm: NaN }), RangeError);
  assert.throws(
    () => new Adagrad({ clipnorm: 1, globalClipnorm: 1 }),
    /Cannot accept both `clipnorm` and `global_clipnorm`/,
  );
  // testConfigWithCliping: each clip option survives from_config(get_config()).
  for (
    const [key, kerasKey] of [["clipnorm", "clipnorm"], ["globalClipnorm", "global_clipnorm"], [
      "clipvalue",
      "clipvalue",
    ]]
  ) {
    const opt = new Adagrad({ learningRate: 1.0, [key]: 2.0 });
    const config = opt.getConfig() as unknown as Record<string, unknown>;
    assert.equal(config[kerasKey], 2.0);
    assert.equal(Object.keys(config)[1], kerasKey, "Keras puts clip keys right after name");
    const back = Adagrad.fromConfig(config);
    assert.equal((back as unknown as Record<string, unknown>)[key], 2.0);
  }
  assert.equal("clipnorm" in new Adagrad().getConfig(), false);
});

test("the norms of variables of thousands of tiles: the workgroup's strided sum of partials", async () => {
  await withDevice(async (device, own) => {
    // clip_norms.wgsl alone, on partial sums written here: variables of more than
    // SERIAL_PARTIALS partials are added up by every lane (each taking every W-th partial, W the
    // workgroup size), and these hold many times W of them, which a step would reach only with
    // variables of hundreds of millions of elements.
    const random = rng(91);
    const counts = [3001, 5, 700, SERIAL_PARTIALS, SERIAL_PARTIALS + 1, 1];
    const partials = new Float32Array(counts.reduce((a, b) => a + b, 0));
    for (let i = 0; i < partials.length; i++) partials[i] = Math.fround(random() * 10);
    const large = counts.flatMap((c, k) => c > SERIAL_PARTIALS ? [k] : []);
    const table = new Uint32Array(VARIABLE_TABLE.words + 2 * (counts.length + large.length));
    table[VARIABLE_TABLE.at.count] = counts.length;
    table[VARIABLE_TABLE.at.large] = large.length;
    let first = 0;
    counts.forEach((c, k) => {
      table[VARIABLE_TABLE.words + 2 * k] = first;
      table[VARIABLE_TABLE.words + 2 * k + 1] = c;
      first += c;
    });
    large.forEach((k, b) => table[VARIABLE_TABLE.words + 2 * (counts.length + b)] = k);
    const sums: number[] = [];
    first = 0;
    for (const c of counts) {
      sums.push(partials.subarray(first, first + c).reduce((a, b) => a + b, 0));
      first += c;
    }
    const clipNorm = 30;
    for (const normMode of [1, 2] as const) {
      const kernels = kernelsFor(device, { ...PLAIN_SPECIALISATION, normMode });
      const buffer = (data: Float32Array | Uint32Array | number, usage: number) => {
        const size = typeof data === "number" ? data : data.byteLength;
        const b = own(device.createBuffer({ size, usage: usage | COPY_DST | COPY_SRC }));
        if (typeof data !== "number") {
          device.queue.writeBuffer(b, 0, data as Float32Array<ArrayBuffer>);
        }
        return b;
      };
      const words = new Float32Array(PARAMS.words);
      words.set([0.1, 1e-7, 0, clipNorm]);
      const params = buffer(words, UNIFORM);
      const norms = buffer(4 * (4 + counts.length), STORAGE);
      const group = kernels.bindGroup("clipNorms", "test", [
        params,
        buffer(table, STORAGE),
        buffer(partials, STORAGE),
        norms,
      ]);
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(kernels.clipNorms);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(1);
      pass.end();
      device.queue.submit([encoder.finish()]);
      const out = await new Snapshot(device).slice({
        buffer: norms,
        offset: 0,
        byteLength: norms.size,
      });
      if (normMode === 1) {
        const expected = sums.map((s) => Math.max(Math.sqrt(s), clipNorm));
        assertCloseL2(out.subarray(4), expected, 1e-6, "clipnorm divisors");
      } else {
        const norm = Math.sqrt(sums.reduce((a, b) => a + b, 0));
        assertAllClose([out[0]], [clipNorm * Math.min(1 / norm, 1 / clipNorm)], "global scale");
      }
    }
  });
});
