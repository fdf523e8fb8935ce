// Keras's LossScaleOptimizer (TF 2.4-2.10) on the GPU: the dynamic scale's rules as a table
// against a CPU model of Keras's _DynamicLossScaleState, the fused unscaling against the float64
// reference, the scale's binding in a user's backward shader, checkpoints, configs and errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Adagrad,
  type AdagradOptions,
  decodeSafetensors,
  IndexedSlices,
  LossScaleOptimizer,
  restoreCheckpoint,
  RowWiseAdagrad,
  saveCheckpoint,
  VariableStore,
} from "../../mod.ts";
import { withDevice } from "../_gpu.ts";
import { assertMoved } from "../_moved.ts";
import {
  assertCloseL2,
  type Clip,
  randomIndices,
  randomValues,
  refClip,
  refRowWiseStep,
  refSparseStep,
  refState,
  refStep,
  rng,
} from "../_reference.ts";

/** Keras's _DynamicLossScaleState.update, in float32. */
class KerasScale {
  scale: number;
  counter = 0;
  readonly growth: number;
  constructor(scale: number, growth: number) {
    this.scale = scale;
    this.growth = growth;
  }
  update(finite: boolean): void {
    if (!finite) {
      this.scale = Math.max(Math.fround(this.scale / 2), 1);
      this.counter = 0;
    } else if (this.counter + 1 >= this.growth) {
      const grown = Math.fround(this.scale * 2);
      if (Number.isFinite(grown)) this.scale = grown;
      this.counter = 0;
    } else {
      this.counter++;
    }
  }
}

const bits = (x: Float32Array) => Array.from(new Uint32Array(x.slice().buffer));

test("dynamic scale: growth, halving, skipping and the floor follow Keras, step by step", async () => {
  await withDevice(async (device, own) => {
    const store = own(new VariableStore(device));
    const random = rng(15);
    const dense = store.variable("dense", [300], randomValues(random, 300));
    const table = store.variable("table", [40, 3], randomValues(random, 120));
    const opt = own(
      new LossScaleOptimizer(new Adagrad({ learningRate: 0.05 }), {
        initialScale: 4,
        dynamicGrowthSteps: 3,
      }),
    );
    const model = new KerasScale(4, 3);
    // Each step: what goes wrong, if anything, and where. The floor is reached at the end.
    const plan = [
      "finite",
      "finite",
      "finite",
      "nan-dense",
      "finite",
      "inf-sparse",
      "-inf-dense",
      "nan-sparse",
      "finite",
      "nan-dense",
      "nan-dense",
      "nan-dense",
      "finite",
    ];
    for (const [k, kind] of plan.entries()) {
      const g = randomValues(random, 300);
      const values = randomValues(random, 5 * 3);
      if (kind === "nan-dense") g[k * 7] = NaN;
      if (kind === "-inf-dense") g[299] = -Infinity;
      if (kind === "inf-sparse") values[4] = Infinity;
      if (kind === "nan-sparse") values[14] = NaN;
      const indices = Int32Array.from([3, 17, 3, 39, 0]);
      const before = [bits(await dense.read()), bits(await table.read())];
      const accBefore = k > 0 ? bits(await opt.getSlot(dense, "accumulator").read()) : [];
      const scale = model.scale;
      // Gradients of the scaled loss: the kernels unscale them by 1 / scale (exact: a power of 2).
      const scaled = g.map((x) => x * scale);
      const slices = new IndexedSlices(values.map((x) => x * scale), indices, [40, 3]);
      const iterations = await opt.applyGradients([[scaled, dense], [slices, table]], {
        scaled: true,
      });
      const finite = kind === "finite";
      model.update(finite);
      assert.equal(iterations, k + 1, `step ${k}: iterations count skipped steps too`);
      assert.equal(await opt.lossScale(), model.scale, `step ${k} (${kind}): scale`);
      assert.equal(await opt.dynamicCounter(), model.counter, `step ${k} (${kind}): counter`);
      const after = [bits(await dense.read()), bits(await table.read())];
      if (finite) {
        assert.notDeepEqual(after[0], before[0], `step ${k}: a finite step updates`);
        assert.notDeepEqual(after[1], before[1], `step ${k}: a finite step updates the table`);
      } else {
        assert.deepEqual(after, before, `step ${k} (${kind}): skipped, variables keep their bits`);
        assert.deepEqual(
          bits(await opt.getSlot(dense, "accumulator").read()),
          accBefore,
          `step ${k} (${kind}): accumulators keep their bits`,
        );
      }
    }
    assert.equal(model.scale, 1, "the plan reaches the floor");
  });
});

test("dynamic scale: a doubled scale that overflows is not taken", async () => {
  await withDevice(async (device, own) => {
    const store = own(new VariableStore(device));
    const v = store.variable("v", [5], randomValues(rng(3), 5));
    const big = 2 ** 127;
    const opt = own(
      new LossScaleOptimizer(new Adagrad(), { initialScale: big, dynamicGrowthSteps: 1 }),
    );
    await opt.applyGradients([[randomValues(rng(4), 5), v]]);
    assert.equal(await opt.lossScale(), big);
    assert.equal(await opt.dynamicCounter(), 0);
  });
});

test("fixed scale: never changes, skips nothing, unscales by its float32 reciprocal", async () => {
  await withDevice(async (device, own) => {
    const store = own(new VariableStore(device));
    const random = rng(21);
    const init = randomValues(random, 1031);
    const v = store.variable("v", [1031], init);
    const opt = own(
      new LossScaleOptimizer(new Adagrad({ learningRate: 0.1 }), {
        dynamic: false,
        initialScale: 1000,
      }),
    );
    assert.equal(await opt.dynamicCounter(), null);
    assert.equal(opt.dynamicGrowthSteps, undefined);
    const ref = refState(init, 0.1);
    const reciprocal = Math.fround(1 / 1000);
    for (let step = 0; step < 3; step++) {
      const g = randomValues(random, 1031);
      const scaled = g.map((x) => x * 1000);
      const unscaled = step === 1 ? g : scaled.map((x) => x * reciprocal);
      await opt.applyGradients([[step === 1 ? g : scaled, v]], { scaled: step !== 1 });
      refStep(ref, unscaled, 0.1, 1e-7);
    }
    assertCloseL2(await v.read(), ref.value, 1e-6, "variable");
    assertCloseL2(await opt.getSlot(v, "accumulator").read(), ref.accum, 1e-6, "accumulator");
    assert.equal(await opt.lossScale(), 1000);
    const g = randomValues(random, 1031);
    g[5] = NaN;
    await opt.applyGradients([[g, v]]);
    assert.ok(Number.isNaN((await v.read())[5]), "a fixed scale does not skip a NaN step");
  });
});

/** Runs three steps of scaled gradients through a dynamic LossScaleOptimizer and the reference. */
async function fusedAgainstReference(
  store: VariableStore,
  options: AdagradOptions & Clip,
  seed: number,
) {
  const random = rng(seed);
  const sizes = [1000, 257, 4099, 3];
  const vars = sizes.map((n, i) => store.variable(`s${seed}_${i}`, [n], randomValues(random, n)));
  const refs = await Promise.all(vars.map(async (v) => refState(await v.read(), 0.1)));
  const opt = new LossScaleOptimizer(new Adagrad({ learningRate: 0.02, ...options }), {
    initialScale: 3000, // not a power of two: the reciprocal is rounded, on the GPU
    dynamicGrowthSteps: 2,
  });
  try {
    let scale = 3000;
    for (let step = 0; step < 3; step++) {
      const grads = sizes.map((n) => randomValues(random, n));
      const reciprocal = Math.fround(1 / scale);
      const scaled = grads.map((g) => g.map((x) => x * scale));
      await opt.applyGradients(vars.map((v, i) => [scaled[i], v]), { scaled: true });
      const unscaled = scaled.map((g) => Float64Array.from(g.map((x) => x * reciprocal)));
      refClip(unscaled, options).forEach((g, i) => refStep(refs[i], g, 0.02, 1e-7));
      if (step % 2 === 1) scale *= 2;
    }
    assert.equal(await opt.lossScale(), 6000);
    for (const [i, v] of vars.entries()) {
      const what = `${JSON.stringify(options)} variable ${i}`;
      assertCloseL2(await v.read(), refs[i].value, 2e-6, what);
      assertCloseL2(await opt.getSlot(v, "accumulator").read(), refs[i].accum, 2e-6, what);
    }
  } finally {
    opt.destroy();
  }
}

test("scaled gradients: unscaled in the kernels before clipping, as Keras unscales then clips", async () => {
  await withDevice(async (device, own) => {
    // Small arenas: the variables straddle several, so several dispatches share the verdict.
    const store = own(new VariableStore(device, { maxArenaBytes: 20480 }));
    let seed = 40;
    for (const clip of [{}, { clipvalue: 0.7 }, { clipnorm: 3 }, { globalClipnorm: 5 }]) {
      await fusedAgainstReference(store, clip, seed++);
    }
  });
});

test("scaled sparse gradients, element-wise and row-wise, against the float64 reference", async () => {
  await withDevice(async (device, own) => {
    const store = own(new VariableStore(device));
    const random = rng(77);
    const [rows, width, nnz] = [500, 7, 300];
    const init = randomValues(random, rows * width);
    const v = store.variable("emb", [rows, width], init);
    const opt = own(new LossScaleOptimizer(new Adagrad({ learningRate: 0.1, clipnorm: 2 })));
    const ref = refState(init, 0.1);
    for (let step = 0; step < 2; step++) {
      const indices = randomIndices(random, nnz, rows, 20);
      const values = randomValues(random, nnz * width);
      const scaled = values.map((x) => x * 2 ** 15);
      await opt.applyGradients([[new IndexedSlices(scaled, indices, [rows, width]), v]], {
        scaled: true,
      });
      const [clipped] = refClip([Float64Array.from(values)], { clipnorm: 2 });
      refSparseStep(ref, width, indices, clipped, 0.1, 1e-7);
    }
    assertCloseL2(await v.read(), ref.value, 1e-6, "element-wise table");

    const w = store.variable("emb_rw", [rows, width], init);
    const rowWise = own(new LossScaleOptimizer(new RowWiseAdagrad({ learningRate: 0.1 })));
    const before = await w.read();
    const rowRef = { value: Float64Array.from(before), accum: new Float64Array(rows).fill(0.1) };
    for (let step = 0; step < 2; step++) {
      const values = randomValues(random, nnz * width);
      const indices = randomIndices(random, nnz, rows, 20);
      const scaled = values.map((x) => x * 2 ** 15);
      await rowWise.applyGradients([[new IndexedSlices(scaled, indices, [rows, width]), w]], {
        scaled: true,
      });
      refRowWiseStep(rowRef, width, indices, values, Math.fround(0.1), 1e-7);
    }
    assertCloseL2(await w.read(), rowRef.value, 1e-6, "row-wise table, scaled");

    const x = store.variable("emb_rw2", [rows, width], before);
    const unscaled = own(new LossScaleOptimizer(new RowWiseAdagrad({ learningRate: 0.1 })));
    const values = randomValues(random, nnz * width);
    const indices = randomIndices(random, nnz, rows, 20);
    await unscaled.applyGradients([[new IndexedSlices(values, indices, [rows, width]), x]]);
    const plain = own(new RowWiseAdagrad({ learningRate: 0.1 }));
    const u = store.variable("emb_plain", [rows, width], before);
    await plain.applyGradients([[new IndexedSlices(values, indices, [rows, width]), u]]);
    assert.deepEqual(bits(await x.read()), bits(await u.read()), "row-wise, unscaled: as plain");
  });
});

test("a backward shader multiplies by scaleBinding(); the step unscales; the scale moves on the GPU", async () => {
  await withDevice(async (device, own) => {
    const store = own(new VariableStore(device));
    const random = rng(8);
    const n = 777;
    const init = randomValues(random, n);
    const v = store.variable("v", [n], init);
    const opt = own(
      new LossScaleOptimizer(new Adagrad({ learningRate: 0.1 }), {
        initialScale: 256,
        dynamicGrowthSteps: 2,
      }),
    );
    const module = device.createShaderModule({
      code: `
        @group(0) @binding(0) var<storage, read> dloss: array<f32>;
        @group(0) @binding(1) var<storage, read> scale: f32;
        @group(0) @binding(2) var<storage, read_write> grad: array<f32>;
        @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {
          if (id.x < arrayLength(&dloss)) { grad[id.x] = dloss[id.x] * scale; }
        }`,
    });
    const pipeline = device.createComputePipeline({
      layout: "auto",
      compute: { module, entryPoint: "main" },
    });
    const dloss = own(device.createBuffer({ size: 4 * n, usage: 0x80 | 0x8 })); // STORAGE|COPY_DST
    const group = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: dloss } },
        { binding: 1, resource: opt.scaleBinding(device) },
        { binding: 2, resource: v.grad.binding },
      ],
    });
    const ref = refState(init, 0.1);
    for (let step = 0; step < 5; step++) {
      const g = randomValues(random, n);
      device.queue.writeBuffer(dloss, 0, g);
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(Math.ceil(n / 64));
      pass.end();
      device.queue.submit([enc.finish()]);
      await opt.applyGradients([[v.grad, v]], { scaled: true });
      refStep(ref, g, 0.1, 1e-7); // powers of two: the scaling round trip is exact
    }
    assert.equal(await opt.lossScale(), 256 * 4, "doubled twice in five steps");
    assertCloseL2(await v.read(), ref.value, 1e-6, "variable");
  });
});

test("checkpoints: a resumed run is bit-identical; inner and wrapped checkpoints load both ways", async () => {
  await withDevice(async (device, own) => {
    const random = rng(99);
    const init = randomValues(random, 1000);
    const grads = Array.from({ length: 8 }, (_, k) => {
      const g = randomValues(random, 1000).map((x) => x * 64);
      if (k === 2 || k === 5) g[k] = Infinity;
      return g;
    });
    const make = (tag: string) => {
      const store = own(new VariableStore(device));
      const v = store.variable("dense/kernel", [1000], init);
      const opt = own(
        new LossScaleOptimizer(new Adagrad({ learningRate: 0.1 }), {
          initialScale: 64,
          dynamicGrowthSteps: 2,
        }),
      );
      return { v, opt, tag };
    };
    const run = async (r: ReturnType<typeof make>, from: number, to: number) => {
      for (let k = from; k < to; k++) {
        await r.opt.applyGradients([[grads[k], r.v]], { scaled: true });
      }
    };
    const whole = make("whole");
    await run(whole, 0, 8);
    const first = make("first");
    await run(first, 0, 4);
    const bytes = await saveCheckpoint({ variables: [first.v], optimizer: first.opt });
    const saved = decodeSafetensors(bytes).tensors;
    assert.equal(saved.get("Adagrad/loss_scale/current_loss_scale")?.dtype, "F32", "Keras's name");
    assert.equal(saved.get("Adagrad/loss_scale/good_steps")?.dtype, "I64", "Keras's name");
    const second = make("second");
    restoreCheckpoint(bytes, { variables: [second.v], optimizer: second.opt });
    assert.equal(await second.opt.lossScale(), await first.opt.lossScale());
    assert.equal(await second.opt.dynamicCounter(), await first.opt.dynamicCounter());
    await run(second, 4, 8);
    assert.deepEqual(bits(await second.v.read()), bits(await whole.v.read()), "variable bits");
    assertMoved(await whole.v.read(), init, "the uninterrupted run's variable");
    assert.deepEqual(
      bits(await second.opt.getSlot(second.v, "accumulator").read()),
      bits(await whole.opt.getSlot(whole.v, "accumulator").read()),
      "accumulator bits",
    );
    assert.equal(await second.opt.lossScale(), await whole.opt.lossScale(), "scale");
    assert.equal(second.opt.iterations, 8);

    // The wrapped checkpoint into a plain Adagrad: the loss scale's weights are left alone.
    const store = own(new VariableStore(device));
    const p = store.variable("dense/kernel", [1000], init);
    const plain = own(new Adagrad({ learningRate: 0.1 }));
    restoreCheckpoint(bytes, { variables: [p], optimizer: plain });
    assert.equal(plain.iterations, 4);
    assert.deepEqual(bits(await p.read()), bits(await first.v.read()));
    // A plain checkpoint into a wrapped optimizer: the scale keeps its value.
    const plainBytes = await saveCheckpoint({ variables: [p], optimizer: plain });
    const third = make("third");
    restoreCheckpoint(plainBytes, { variables: [third.v], optimizer: third.opt });
    assert.equal(third.opt.iterations, 4);
    assert.equal(await third.opt.lossScale(), 64);
    assert.deepEqual(
      bits(await third.opt.getSlot(third.v, "accumulator").read()),
      bits(await first.opt.getSlot(first.v, "accumulator").read()),
    );
  });
});

test("config round trip, delegated hyperparameters, and the CPU helpers", async () => {
  const opt = new LossScaleOptimizer(new RowWiseAdagrad({ learningRate: 0.3, clipnorm: 1 }), {
    initialScale: 512,
    dynamicGrowthSteps: 10,
  });
  const config = opt.getConfig();
  assert.deepEqual(config, {
    inner_optimizer: { class_name: "RowWiseAdagrad", config: opt.innerOptimizer.getConfig() },
    dynamic: true,
    initial_scale: 512,
    dynamic_growth_steps: 10,
  });
  const back = LossScaleOptimizer.fromConfig(JSON.parse(JSON.stringify(config)));
  assert.ok(back.innerOptimizer instanceof RowWiseAdagrad);
  assert.deepEqual(back.getConfig(), config);
  const fixed = new LossScaleOptimizer(new Adagrad(), { dynamic: false, initialScale: 8 });
  assert.deepEqual(LossScaleOptimizer.fromConfig(fixed.getConfig()).getConfig(), {
    ...fixed.getConfig(),
    dynamic_growth_steps: null,
  });
  opt.learningRate = 0.5;
  assert.equal(opt.innerOptimizer.learningRate, 0.5);
  assert.equal(opt.lr, 0.5);
  opt.iterations = 7;
  assert.equal(opt.innerOptimizer.iterations, 7);
  assert.equal(await opt.getScaledLoss(0.1), Math.fround(Math.fround(0.1) * 512));
  const [g, none] = await opt.getUnscaledGradients([new Float32Array([512, 3]), null]);
  assert.deepEqual(Array.from(g!), [1, Math.fround(3 / 512)]);
  assert.equal(none, null);
  opt.setLossScale(64, 3);
  assert.equal(await opt.lossScale(), 64);
  assert.equal(await opt.dynamicCounter(), 3);
});

test("errors: Keras's table, and a bad call changes nothing", async () => {
  const cases: [() => unknown, ErrorConstructor, RegExp][] = [
    [
      () => new LossScaleOptimizer({} as Adagrad),
      TypeError,
      /an optimizer of this package \(Adagrad, RowWiseAdagrad, ProximalAdagrad, AdagradDA\)/,
    ],
    [
      () => new LossScaleOptimizer(new Adagrad(), { dynamic: 1 as unknown as boolean }),
      TypeError,
      /dynamic must be a boolean/,
    ],
    [
      () => new LossScaleOptimizer(new Adagrad(), { dynamic: false }),
      RangeError,
      /initialScale must be given if dynamic is false/,
    ],
    [
      () =>
        new LossScaleOptimizer(new Adagrad(), {
          dynamic: false,
          initialScale: 2,
          dynamicGrowthSteps: 5,
        }),
      RangeError,
      /dynamicGrowthSteps must be left out/,
    ],
    [() => new LossScaleOptimizer(new Adagrad(), { initialScale: 0 }), RangeError, /> 0/],
    [() => new LossScaleOptimizer(new Adagrad(), { dynamicGrowthSteps: 0 }), RangeError, /1 to/],
    [
      () => new LossScaleOptimizer(new Adagrad(), { initialScale: 1e39 }),
      RangeError,
      /finite number > 0 in float32/,
    ],
    [
      () => new LossScaleOptimizer(new Adagrad(), { scale: 2 } as never),
      TypeError,
      /unknown option 'scale'/,
    ],
    [
      () => new LossScaleOptimizer(new Adagrad({ skipNonFinite: true })),
      RangeError,
      /skipNonFinite/,
    ],
    [
      () => {
        const inner = new Adagrad();
        new LossScaleOptimizer(inner);
        new LossScaleOptimizer(inner);
      },
      TypeError,
      /already wrapped/,
    ],
    [
      () => LossScaleOptimizer.fromConfig({ inner_optimizer: { class_name: "SGD", config: {} } }),
      TypeError,
      /unknown inner optimizer class 'SGD'/,
    ],
    [
      () => new LossScaleOptimizer(new Adagrad()).setLossScale(NaN),
      RangeError,
      /finite number > 0/,
    ],
  ];
  for (const [make, kind, message] of cases) {
    assert.throws(
      make,
      (e: Error) => e instanceof kind && message.test(e.message),
      String(message),
    );
  }
  await withDevice(async (device, own) => {
    const store = own(new VariableStore(device));
    const v = store.variable("v", [3], new Float32Array([1, 2, 3]));
    const inner = own(new Adagrad());
    await inner.applyGradients([[new Float32Array([1, 1, 1]), v]]);
    assert.throws(() => new LossScaleOptimizer(inner), TypeError, "wrapped after its first step");
    const opt = own(new LossScaleOptimizer(new Adagrad()));
    const before = bits(await v.read());
    for (const options of [{ scaled: "yes" }, { unscale: true }, 3]) {
      await assert.rejects(
        opt.applyGradients([[new Float32Array([1, 1, 1]), v]], options as never),
        TypeError,
      );
    }
    assert.equal(opt.iterations, 0, "no step was taken");
    assert.deepEqual(bits(await v.read()), before, "the variable is unchanged");
    assert.equal(await opt.lossScale(), 2 ** 15, "the scale is unchanged");

    // The scale made on another device by scaleBinding: refused, and nothing changes.
    const { requestDevice } = await import("../_gpu.ts");
    const other = await requestDevice();
    try {
      const elsewhere = own(new LossScaleOptimizer(new Adagrad()));
      elsewhere.scaleBinding(other);
      for (let k = 0; k < 2; k++) {
        await assert.rejects(
          elsewhere.applyGradients([[new Float32Array([1, 1, 1]), v]]),
          /lives on another GPUDevice/,
        );
      }
      assert.equal(elsewhere.iterations, 0);
      assert.deepEqual(bits(await v.read()), before);
      // Not tied to the refused device: a step on the scale's own device works.
      const there = new VariableStore(other);
      const u = there.variable("u", [3], new Float32Array([1, 2, 3]));
      assert.equal(await elsewhere.applyGradients([[new Float32Array([1, 1, 1]), u]]), 1);
      elsewhere.destroy();
      there.destroy();
    } finally {
      other.destroy();
    }
    // After destroy(), every call says so.
    opt.destroy();
    await assert.rejects(opt.lossScale(), /LossScaleOptimizer was destroyed/);
    assert.throws(() => opt.scaleBinding(device), /LossScaleOptimizer was destroyed/);
    await assert.rejects(
      opt.applyGradients([[new Float32Array([1, 1, 1]), v]]),
      /LossScaleOptimizer was destroyed/,
    );
  });
});

test("the finiteness check reads only the variables: a NaN in the padding after one skips nothing", async () => {
  await withDevice(async (device, own) => {
    for (const gradDtype of ["float32", "float16"] as const) {
      const store = own(new VariableStore(device, { gradDtype }));
      const v = store.variable("v", [5], randomValues(rng(5), 5));
      const opt = own(new LossScaleOptimizer(new Adagrad(), { initialScale: 8 }));
      // Element 5 is past the variable's end, inside the vector (or words) its tail is read with.
      const bytes = gradDtype === "float16"
        ? new Uint16Array([0, 0x7e00])
        : new Float32Array([NaN]);
      const at = v.grad.offset + (gradDtype === "float16" ? 8 : 20);
      device.queue.writeBuffer(v.grad.buffer, at, bytes);
      await opt.applyGradients([[v.grad, v]]);
      assert.equal(await opt.lossScale(), 8, `${gradDtype}: the step was not skipped`);
      assert.equal(await opt.dynamicCounter(), 1, gradDtype);
    }
  });
});
