// The fused dense update against the float64 reference, on fresh random data.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Adagrad, type GradientPair, type Variable, VariableStore } from "../../mod.ts";
import {
  COPY_DST,
  COPY_SRC,
  MAP_MODE_READ,
  MAP_READ,
  STORAGE,
  UNIFORM,
} from "../../src/_common/usage.ts";
import { type LimitsChoice, Snapshot, withDevice } from "../_gpu.ts";
import { skippingVariables } from "../_console.ts";
import {
  assertCloseL2,
  randomValues,
  type RefState,
  refState,
  refStep,
  rng,
} from "../_reference.ts";

const TOL = 1e-5;

// Sizes around the workgroup (256) and tile (4096) sizes, none of them a convenient multiple.
const EDGE_SIZES = [1, 2, 7, 255, 256, 257, 1000, 4095, 4096, 4097, 12289, 70001];

interface Tracked {
  v: Variable;
  ref: RefState;
}

async function checkAll(opt: Adagrad, tracked: Tracked[], what: string, onlyUpdated = true) {
  for (const { v, ref } of tracked) {
    assertCloseL2(await v.read(), ref.value, TOL, `${what}: ${v.name}`);
    if (onlyUpdated) {
      assertCloseL2(await opt.getSlot(v, "accumulator").read(), ref.accum, TOL, `${what}: acc`);
    }
  }
}

// The second configuration makes epsilon's placement matter: accumulators start at 0.
const CONFIGS = [
  { limits: "default", lr: 0.05, initial: 0.3, epsilon: 1e-7 },
  { limits: "adapter", lr: 0.05, initial: 0.3, epsilon: 1e-7 },
  { limits: "default", lr: 0.5, initial: 0, epsilon: 0.5 },
] as const;

for (const { limits, lr, initial, epsilon } of CONFIGS) {
  test(`edge sizes, 4 random steps (${limits} limits, accumulator ${initial}, epsilon ${epsilon})`, async () => {
    await withDevice(async (device) => {
      const random = rng(1234);
      const store = new VariableStore(device);
      const opt = new Adagrad({ learningRate: lr, initialAccumulatorValue: initial, epsilon });
      const tracked = EDGE_SIZES.map((n, i) => {
        const init = randomValues(random, n);
        return { v: store.variable(`v${i}`, [n], init), ref: refState(init, initial) };
      });
      for (let step = 0; step < 4; step++) {
        const pairs: GradientPair[] = tracked.map(({ v, ref }) => {
          const g = randomValues(random, v.length);
          refStep(ref, g, Math.fround(lr), Math.fround(epsilon));
          return [g, v];
        });
        await opt.applyGradients(pairs);
      }
      await checkAll(opt, tracked, "after 4 steps");
      assert.equal(store.arenaCount, 1);
      opt.destroy();
      store.destroy();
    }, limits as LimitsChoice);
  });
}

test("arena boundaries: small arenas, variables spread over many of them", async () => {
  await withDevice(async (device) => {
    const random = rng(99);
    // 40 KiB arenas: variables of up to 9000 elements (36 KB) force frequent new arenas.
    const store = new VariableStore(device, { maxArenaBytes: 40 * 1024 });
    const opt = new Adagrad({ learningRate: 0.01, decay: 0.1 });
    const tracked: Tracked[] = [];
    for (let i = 0; i < 60; i++) {
      const n = 1 + Math.floor(random() * 9000);
      const init = randomValues(random, n);
      tracked.push({ v: store.variable(`layer${i}/w`, [n], init), ref: refState(init, 0.1) });
    }
    assert.ok(store.arenaCount >= 8, `expected many arenas, got ${store.arenaCount}`);
    for (let step = 0; step < 3; step++) {
      const lr = Math.fround(0.01 / (1 + 0.1 * step));
      const pairs: GradientPair[] = tracked.map(({ v, ref }) => {
        const g = randomValues(random, v.length);
        refStep(ref, g, lr, Math.fround(1e-7));
        return [g, v];
      });
      await opt.applyGradients(pairs);
    }
    await checkAll(opt, tracked, "across arenas");
    opt.destroy();
    store.destroy();
  });
});

test("1,200 variables with a random third missing each step: skipped ones keep their bits", async () => {
  await withDevice(async (device) => {
    const random = rng(7);
    const store = new VariableStore(device);
    const opt = new Adagrad({ learningRate: 0.1 });
    const tracked: (Tracked & { updated: boolean })[] = [];
    for (let i = 0; i < 1200; i++) {
      const n = 1 + Math.floor(random() * 300);
      const init = randomValues(random, n);
      tracked.push({
        v: store.variable(`v${i}`, [n], init),
        ref: refState(init, 0.1),
        updated: false,
      });
    }
    const accOf = (t: Tracked) => opt.getSlot(t.v, "accumulator").region;
    for (let step = 0; step < 4; step++) {
      const skipped: (typeof tracked)[number][] = [];
      const pairs: GradientPair[] = tracked.map((t) => {
        if (random() < 1 / 3) {
          skipped.push(t);
          return [null, t.v];
        }
        const g = randomValues(random, t.v.length);
        refStep(t.ref, g, Math.fround(0.1), Math.fround(1e-7));
        return [g, t.v];
      });
      // Skipped variables must keep their exact bits, values and accumulators alike.
      const before = new Snapshot(device);
      const expected = await Promise.all(skipped.map(async (t) => ({
        value: await before.slice(t.v),
        acc: t.updated ? await before.slice(accOf(t)) : null,
      })));
      await skippingVariables(() => opt.applyGradients(pairs));
      for (const t of tracked) if (!skipped.includes(t)) t.updated = true;
      const after = new Snapshot(device);
      for (const [k, t] of skipped.entries()) {
        assert.deepEqual(await after.slice(t.v), expected[k].value, `${t.v.name} changed`);
        if (expected[k].acc) assert.deepEqual(await after.slice(accOf(t)), expected[k].acc);
      }
    }
    const final = new Snapshot(device);
    for (const t of tracked) {
      assertCloseL2(await final.slice(t.v), t.ref.value, TOL, t.v.name);
      if (t.updated) {
        assertCloseL2(await final.slice(accOf(t)), t.ref.accum, TOL, `${t.v.name} acc`);
      } else assert.throws(() => opt.getSlot(t.v, "accumulator"), RangeError);
    }
    opt.destroy();
    store.destroy();
  });
});

// A user's shader that writes a gradient into a variable's .grad region: g[i] = scale * sin(i + 1).
const GRAD_SHADER = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> grad: array<f32>;
@group(0) @binding(1) var<uniform> scale: vec4f;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3u) {
  if (id.x < arrayLength(&grad)) { grad[id.x] = scale.x * sin(f32(id.x + 1u)); }
}`;

test("every gradient form in one step, with variables in the caller's own buffers", async () => {
  await withDevice(async (device, own) => {
    const random = rng(2024);
    const store = own(new VariableStore(device));
    const other = own(new VariableStore(device, { label: "other" }));
    const sizes = { upload: 3001, inPlace: 5000, binding: 777, region: 1025, whole: 129 };
    const mk = (name: string, n: number) => {
      const init = randomValues(random, n);
      return { v: store.variable(name, [n], init), ref: refState(init, 0.1) };
    };
    const upload = mk("upload", sizes.upload);
    const inPlace = mk("in_place", sizes.inPlace);
    const binding = mk("binding", sizes.binding);
    const region = mk("region", sizes.region);
    const whole = mk("whole", sizes.whole);
    const donor = other.variable("donor", [sizes.region]);

    // Two variables in one caller-owned buffer (at offsets that are not 256-aligned), and a third
    // that is a whole buffer.
    const extInit = [randomValues(random, 300), randomValues(random, 45)];
    const extBuffer = own(device.createBuffer({
      label: "mine",
      size: 4 * 1000,
      usage: STORAGE | COPY_SRC | COPY_DST,
    }));
    device.queue.writeBuffer(extBuffer, 4 * 12, extInit[0]);
    device.queue.writeBuffer(extBuffer, 4 * 500, extInit[1]);
    const ext = [
      { buffer: extBuffer, offset: 4 * 12, size: 4 * 300, name: "ext_a" },
      { buffer: extBuffer, offset: 4 * 500, size: 4 * 45, name: "ext_b" },
    ];
    const extRefs = extInit.map((init) => refState(init, 0.1));
    const soloInit = randomValues(random, 64);
    const solo = own(device.createBuffer({ size: 4 * 64, usage: STORAGE | COPY_SRC | COPY_DST }));
    device.queue.writeBuffer(solo, 0, soloInit);
    const soloRef = refState(soloInit, 0.1);

    const pipeline = device.createComputePipeline({
      layout: "auto",
      compute: { module: device.createShaderModule({ code: GRAD_SHADER }), entryPoint: "main" },
    });
    const scale = own(device.createBuffer({ size: 16, usage: UNIFORM | COPY_DST }));
    const bindGroup = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [{ binding: 0, resource: inPlace.v.grad.binding }, {
        binding: 1,
        resource: { buffer: scale },
      }],
    });
    const scratch = own(device.createBuffer({ size: 4 * 2000, usage: COPY_SRC | COPY_DST }));
    const wholeGrad = own(
      device.createBuffer({ size: 4 * sizes.whole, usage: COPY_SRC | COPY_DST }),
    );

    const opt = own(new Adagrad({ learningRate: 0.02 }));
    const lr = Math.fround(0.02);
    const eps = Math.fround(1e-7);
    for (let step = 0; step < 3; step++) {
      // In place: the user's shader writes inPlace.grad.
      const s = 0.5 + step;
      device.queue.writeBuffer(scale, 0, new Float32Array([s, 0, 0, 0]));
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(Math.ceil(sizes.inPlace / 64));
      pass.end();
      device.queue.submit([enc.finish()]);
      // What the shader wrote: WGSL's sin is only loosely specified (SwiftShader's is off by 1e-5).
      const gInPlace = await new Snapshot(device).slice(inPlace.v.grad);

      const gUpload = randomValues(random, sizes.upload);
      const gBinding = randomValues(random, sizes.binding);
      device.queue.writeBuffer(scratch, 4 * 100, gBinding);
      const gRegion = randomValues(random, sizes.region);
      device.queue.writeBuffer(donor.grad.buffer, donor.grad.offset, gRegion);
      const gWhole = randomValues(random, sizes.whole);
      device.queue.writeBuffer(wholeGrad, 0, gWhole);
      const gExt = [randomValues(random, 300), randomValues(random, 45)];
      device.queue.writeBuffer(scratch, 0, gExt[1]);
      const gSolo = randomValues(random, 64);

      await opt.applyGradients([
        [gUpload, upload.v],
        [inPlace.v.grad, inPlace.v],
        [{ buffer: scratch, offset: 4 * 100, size: 4 * sizes.binding }, binding.v],
        [donor.grad, region.v],
        [wholeGrad, whole.v],
        [gExt[0], ext[0]],
        [{ buffer: scratch, offset: 0, size: 4 * 45 }, ext[1]],
        [gSolo, solo],
      ]);
      refStep(upload.ref, gUpload, lr, eps);
      refStep(inPlace.ref, gInPlace, lr, eps);
      refStep(binding.ref, gBinding, lr, eps);
      refStep(region.ref, gRegion, lr, eps);
      refStep(whole.ref, gWhole, lr, eps);
      refStep(extRefs[0], gExt[0], lr, eps);
      refStep(extRefs[1], gExt[1], lr, eps);
      refStep(soloRef, gSolo, lr, eps);
    }
    for (const t of [upload, inPlace, binding, region, whole]) {
      assertCloseL2(await t.v.read(), t.ref.value, TOL, t.v.name);
      assertCloseL2(
        await opt.getSlot(t.v, "accumulator").read(),
        t.ref.accum,
        TOL,
        `${t.v.name} acc`,
      );
    }
    const readExt = async (offset: number, n: number) => {
      const staging = device.createBuffer({ size: 4 * n, usage: MAP_READ | COPY_DST });
      const enc = device.createCommandEncoder();
      enc.copyBufferToBuffer(extBuffer, offset, staging, 0, 4 * n);
      device.queue.submit([enc.finish()]);
      await staging.mapAsync(MAP_MODE_READ);
      const values = new Float32Array(staging.getMappedRange().slice(0));
      staging.destroy();
      return values;
    };
    assertCloseL2(await readExt(4 * 12, 300), extRefs[0].value, TOL, "ext_a");
    assertCloseL2(await readExt(4 * 500, 45), extRefs[1].value, TOL, "ext_b");
    assertCloseL2(
      await opt.getSlot(ext[0], "accumulator").read(),
      extRefs[0].accum,
      TOL,
      "ext_a acc",
    );
    assertCloseL2(
      await opt.getSlot(ext[1], "accumulator").read(),
      extRefs[1].accum,
      TOL,
      "ext_b acc",
    );
    assertCloseL2(await opt.getSlot(solo, "accumulator").read(), soloRef.accum, TOL, "solo acc");
    // The bytes around the external variables are untouched.
    const gap = await readExt(0, 12);
    assert.deepEqual(gap, new Float32Array(12));
  });
});

test("external variables added over several steps keep earlier accumulators", async () => {
  await withDevice(async (device) => {
    const random = rng(5);
    const buffer = device.createBuffer({ size: 4 * 4096, usage: STORAGE | COPY_SRC | COPY_DST });
    const opt = new Adagrad({ learningRate: 0.1, device });
    const vars: { binding: { buffer: GPUBuffer; offset: number; size: number }; ref: RefState }[] =
      [];
    for (let step = 0; step < 6; step++) {
      // A new variable joins every step, so the optimizer's slot buffers grow several times.
      const n = 37 + 100 * step;
      const offset = 4 * (step * 600 + 3);
      const init = randomValues(random, n);
      device.queue.writeBuffer(buffer, offset, init);
      vars.push({ binding: { buffer, offset, size: 4 * n }, ref: refState(init, 0.1) });
      const pairs: GradientPair[] = vars.map(({ binding, ref }) => {
        const g = randomValues(random, binding.size / 4);
        refStep(ref, g, Math.fround(0.1), Math.fround(1e-7));
        return [g, binding];
      });
      await opt.applyGradients(pairs);
    }
    for (const [i, { binding, ref }] of vars.entries()) {
      assertCloseL2(await opt.getSlot(binding, "accumulator").read(), ref.accum, TOL, `acc ${i}`);
    }
    opt.destroy();
    buffer.destroy();
  });
});

test("a step writes nothing outside the variables: arena padding keeps its bits (vec4 tails)", async () => {
  await withDevice(async (device) => {
    const random = rng(12);
    const store = new VariableStore(device);
    // Odd sizes: each variable's last vector reaches into the padding before the next one.
    const vars = [5, 7, 13, 4097, 1].map((n, i) =>
      store.variable(`p${i}`, [n], randomValues(random, n))
    );
    const opt = new Adagrad({ learningRate: 0.1, clipnorm: 1 });
    // Garbage in the gradient arena's padding: a lane that strayed there would change something.
    const grads = vars[0].grad.buffer;
    device.queue.writeBuffer(grads, 0, new Float32Array(grads.size / 4).fill(7));
    for (let step = 0; step < 3; step++) {
      await opt.applyGradients(vars.map((v) => [randomValues(random, v.length), v] as const));
    }
    const snap = new Snapshot(device);
    const arenaVars = await snap.slice({
      buffer: vars[0].buffer,
      offset: 0,
      byteLength: vars[0].buffer.size,
    });
    const slot0 = opt.getSlot(vars[0], "accumulator").region;
    const arenaAccum = await snap.slice({
      buffer: slot0.buffer,
      offset: 0,
      byteLength: slot0.buffer.size,
    });
    const inside = new Set<number>();
    for (const v of vars) for (let i = 0; i < v.length; i++) inside.add(v.offset / 4 + i);
    let padding = 0;
    for (let i = 0; i < arenaVars.length; i++) {
      if (inside.has(i)) continue;
      padding++;
      assert.ok(Object.is(arenaVars[i], 0), `variables arena element ${i} (padding) changed`);
      assert.equal(arenaAccum[i], Math.fround(0.1), `accumulator element ${i} (padding) changed`);
    }
    assert.ok(padding > 0);
    opt.destroy();
    store.destroy();
  });
});
