// TfjsAdagrad: TF.js models trained by fit, against tf.train.adagrad and the float64 reference.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import "@tensorflow/tfjs-backend-cpu";
import { Adagrad, VariableStore } from "../../mod.ts";
import { TfjsAdagrad, type TfjsGradient, tfjsIndexedSlices, useDeviceForTfjs } from "../../tfjs.ts";
import { requestDevice } from "../_gpu.ts";
import { assertMoved } from "../_moved.ts";
import { quietly, TFJS_NODE_BANNER } from "../_console.ts";
import {
  assertAllClose,
  randomValues,
  refClip,
  refSparseStep,
  refState,
  refStep,
  rng,
} from "../_reference.ts";
import {
  embeddingData,
  embeddingModel,
  readFresh,
  tfjsOnSharedDevice,
  weightsOf,
  withTfjs,
} from "./_tfjs.ts";

/** Fits `model` for 3 epochs of 47 samples in batches of 10 (the last one of 7), unshuffled. */
async function fit(model: tfl.LayersModel, optimizer: tf.Optimizer, seed = 5): Promise<void> {
  model.compile({ optimizer, loss: "meanSquaredError" });
  const { x, y } = embeddingData(seed, 47);
  await model.fit(x, y, { epochs: 3, batchSize: 10, shuffle: false, verbose: 0 });
  tf.dispose([x, y]);
}

/** Keeps a copy of each step's gradients (read back after fit: a test's privilege). */
class Recording extends TfjsAdagrad {
  readonly steps: Map<string, tf.Tensor>[] = [];
  override applyGradients(
    grads: Record<string, TfjsGradient> | readonly { name: string; tensor: TfjsGradient }[],
  ): void {
    const list = Array.isArray(grads)
      ? grads
      : Object.entries(grads).map(([name, tensor]) => ({ name, tensor }));
    this.steps.push(
      new Map(list.map((g) => [g.name, tf.keep((g.tensor as tf.Tensor).clone())])),
    );
    super.applyGradients(grads);
  }
}

test("TfjsAdagrad: fit with epsilonInsideSqrt gives tf.train.adagrad's weights", () =>
  withTfjs(async () => {
    await tfjsOnSharedDevice();
    const ours = embeddingModel(11);
    const theirs = embeddingModel(11);
    const opt = new TfjsAdagrad({
      learningRate: 0.05,
      epsilonInsideSqrt: true,
      epsilon: 1e-7,
      initialAccumulatorValue: 0.1,
    });
    const reference = tf.train.adagrad(0.05, 0.1);
    await fit(ours, opt);
    await fit(theirs, reference);
    const [a, b] = [await weightsOf(ours), await weightsOf(theirs)];
    const before = await weightsOf(embeddingModel(11));
    for (let i = 0; i < a.length; i++) {
      assertAllClose(a[i], b[i], `weight ${i}`, 2e-6, 1e-6);
      assert.ok(a[i].some((v, k) => v !== before[i][k]), `weight ${i} was trained`);
    }
    assert.equal(opt.iterations, 15);
    opt.dispose();
    reference.dispose();
    ours.dispose();
    theirs.dispose();
  }));

test("TfjsAdagrad: fit in Keras mode matches the float64 reference and Adagrad", () =>
  withTfjs(async () => {
    const device = await tfjsOnSharedDevice();
    const model = embeddingModel(23);
    const names = model.trainableWeights.map((w) => w.originalName);
    const variableNames = model.trainableWeights.map((w) => w.name);
    const initial = await weightsOf(model);
    const opt = new Recording({ learningRate: 0.1, initialAccumulatorValue: 0.2 });
    await fit(model, opt, 6);
    const trained = await weightsOf(model);

    const states = initial.map((w) => refState(w, 0.2));
    const store = new VariableStore(device);
    const vars = initial.map((w, i) => store.variable(names[i], [w.length], w));
    const adagrad = new Adagrad({ learningRate: 0.1, initialAccumulatorValue: 0.2 });
    assert.equal(opt.steps.length, 15);
    for (const step of opt.steps) {
      const grads = await Promise.all(
        model.trainableWeights.map(async (w) => new Float32Array(await step.get(w.name)!.data())),
      );
      tf.dispose([...step.values()]);
      grads.forEach((g, i) => refStep(states[i], g, Math.fround(0.1), 1e-7));
      await adagrad.applyGradients(grads.map((g, i) => [g, vars[i]]));
    }
    for (let i = 0; i < trained.length; i++) {
      assertAllClose(trained[i], states[i].value, names[i], 1e-5, 1e-6);
      assert.deepEqual(trained[i], await vars[i].read(), `${names[i]}: not Adagrad's bits`);
    }
    const accumulators = await opt.getWeights();
    assert.deepEqual(
      accumulators.map((w) => w.name),
      ["iter", ...variableNames.map((n) => `${n}/accumulator`)],
    );
    assert.equal(accumulators[0].tensor.dataSync()[0], 15);
    adagrad.destroy();
    store.destroy();
    opt.dispose();
    model.dispose();
  }));

test("TfjsAdagrad: save and load with includeOptimizer restore the optimizer", () =>
  withTfjs(async () => {
    await tfjsOnSharedDevice();
    const model = embeddingModel(31);
    const initial = await weightsOf(model);
    const opt = new TfjsAdagrad({
      learningRate: 0.07,
      clipnorm: 0.5,
      initialAccumulatorValue: 0.3,
    });
    await fit(model, opt, 8);
    let saved: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler((artifacts) => {
        saved = artifacts;
        return Promise.resolve({
          modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" },
        });
      }),
      { includeOptimizer: true },
    );
    const loaded = await tfl.loadLayersModel(tf.io.fromMemory(saved!));
    const restored = loaded.optimizer as TfjsAdagrad;
    assert.ok(restored instanceof TfjsAdagrad, "the loaded optimizer is a TfjsAdagrad");
    assert.deepEqual(restored.getConfig(), opt.getConfig());
    assert.equal(restored.iterations, 15);

    // One more epoch on both: the same weights, so the accumulators came back too.
    const { x, y } = embeddingData(9, 20);
    await model.fit(x, y, { epochs: 1, batchSize: 10, shuffle: false, verbose: 0 });
    await loaded.fit(x, y, { epochs: 1, batchSize: 10, shuffle: false, verbose: 0 });
    const [a, b] = [await weightsOf(model), await weightsOf(loaded)];
    // Not bit-exact: TF.js's WebGPU gather gradient adds rows with atomics, in any order.
    for (let i = 0; i < a.length; i++) {
      assertAllClose(b[i], a[i], `weight ${i}`, 1e-5, 1e-6);
      assertMoved(a[i], initial[i], `weight ${i}`); // two optimizers that did nothing would agree
    }
    const fresh = (await restored.getWeights()).slice(1);
    const original = (await opt.getWeights()).slice(1);
    for (let i = 0; i < original.length; i++) {
      assert.equal(fresh[i].name.split("/").at(-1), "accumulator");
      assertAllClose(
        fresh[i].tensor.dataSync(),
        original[i].tensor.dataSync(),
        `acc ${i}`,
        1e-5,
        1e-6,
      );
    }
    tf.dispose([x, y]);
    restored.dispose();
    opt.dispose();
    model.dispose();
    loaded.dispose();
  }));

test("TfjsAdagrad: clipnorm and IndexedSlices match the float64 reference", () =>
  withTfjs(async () => {
    await tfjsOnSharedDevice();
    const random = rng(41);
    const w0 = randomValues(random, 67);
    const t0 = randomValues(random, 19 * 3);
    const w = tf.variable(tf.tensor1d(w0), true, "tfjs_test_w");
    const table = tf.variable(tf.tensor2d(t0, [19, 3]), true, "tfjs_test_table");
    const opt = new TfjsAdagrad({ learningRate: 0.3, clipnorm: 1.5 });
    const sw = refState(w0, 0.1);
    const st = refState(t0, 0.1);
    for (let step = 0; step < 4; step++) {
      const g = randomValues(random, 67, 0.5, 3);
      const rows = randomValues(random, 4 * 3);
      const ids = new Int32Array([3, 18, 3, 0]);
      const gt = tf.tensor1d(g);
      const rt = tf.tensor2d(rows, [4, 3]);
      const it = tf.tensor1d(ids, "int32");
      opt.applyGradients([
        { name: w.name, tensor: gt },
        { name: table.name, tensor: tfjsIndexedSlices(rt, it, [19, 3]) },
      ]);
      tf.dispose([gt, rt, it]);
      refStep(sw, refClip([Float64Array.from(g)], { clipnorm: 1.5 })[0], Math.fround(0.3), 1e-7);
      const clipped = refClip([Float64Array.from(rows)], { clipnorm: 1.5 })[0];
      refSparseStep(st, 3, ids, clipped, Math.fround(0.3), 1e-7);
    }
    assertAllClose(await w.data() as Float32Array, sw.value, "w", 1e-5, 1e-6);
    assertAllClose(await table.data() as Float32Array, st.value, "table", 1e-5, 1e-6);
    opt.dispose();
    tf.dispose([w, table]);
  }));

test("TfjsAdagrad: bad input is refused before anything changes", () =>
  withTfjs(async () => {
    await tfjsOnSharedDevice();
    const w = tf.variable(tf.tensor1d(randomValues(rng(3), 10)), true, "tfjs_test_err");
    const opt = new TfjsAdagrad({ learningRate: 0.1 });
    const g = tf.tensor1d(randomValues(rng(4), 10));
    opt.applyGradients({ tfjs_test_err: g });
    const state = async () => [await readFresh(w), (await opt.getWeights())[1].tensor.dataSync()];
    const before = await state();
    const int = tf.tensor1d(new Int32Array(10), "int32");
    const short = tf.tensor1d(new Float32Array(9));
    const cases: [() => void, RegExp][] = [
      [() => opt.applyGradients({ tfjs_test_err: int }), /is int32; float32 only/],
      [() => opt.applyGradients({ tfjs_test_err: short }), /has shape \[9\], the variable \[10\]/],
      [() => opt.applyGradients({ nobody: g }), /no TF\.js variable is named 'nobody'/],
      [() => opt.applyGradients({ tfjs_test_err: [1, 2] as never }), /must be a tf\.Tensor/],
      [() => opt.applyGradients({ tfjs_test_err: null }), /No gradients provided/],
    ];
    for (const [call, message] of cases) {
      assert.throws(call, (e: Error) => {
        assert.match(e.message, message);
        assert.ok(e instanceof TypeError || e instanceof RangeError, e.name);
        return true;
      });
    }
    // The CPU backend: the error says how to get the WebGPU one. Its first write greets Node
    // (and Deno) with a banner, dropped here.
    const onCpu = await quietly([TFJS_NODE_BANNER], async () => {
      await tf.setBackend("cpu");
      assert.throws(() => opt.applyGradients({ tfjs_test_err: g }), {
        name: "TypeError",
        message: /active backend is 'cpu'.*setBackend\("webgpu"\)/,
      });
      return tf.variable(tf.zeros([2]), true, "tfjs_test_cpu");
    });
    await tfjsOnSharedDevice();
    const g2 = tf.tensor1d([1, 2]);
    assert.throws(() => opt.applyGradients({ tfjs_test_cpu: g2 }), {
      name: "TypeError",
      message: /lives on TF\.js's 'cpu' backend/,
    });
    assert.equal(opt.iterations, 1);
    assert.deepEqual(await state(), before);
    opt.dispose();
    assert.throws(() => opt.applyGradients({ tfjs_test_err: g }), /disposed/);
    tf.dispose([w, g, int, short, onCpu, g2]);
  }));

test("TfjsAdagrad: a learning rate passed first, as tf.train.adagrad takes it, is refused", () => {
  // It used to be dropped without a word (the default 0.001 trained instead).
  assert.throws(() => new TfjsAdagrad(0.01 as never), {
    name: "TypeError",
    message: /got number 0\.01; name the learning rate: \{ learningRate: 0\.01 \}$/,
  });
  assert.throws(() => new TfjsAdagrad(null as never), { name: "TypeError" });
});

test("useDeviceForTfjs without navigator.gpu says how to get it on this runtime", async () => {
  const device = await tfjsOnSharedDevice();
  const before = tf.getBackend();
  const own = Object.getOwnPropertyDescriptor(globalThis, "navigator");
  Object.defineProperty(globalThis, "navigator", { value: {}, configurable: true, writable: true });
  try {
    const g = globalThis as { process?: { versions?: { node?: string } } };
    const runtime = "Deno" in globalThis
      ? /On Deno 1\.x, run with --unstable-webgpu/
      : "Bun" in globalThis
      ? /On Bun: .*setupGlobals/
      : g.process?.versions?.node
      ? /On Node: .*import 'webgpu-adagrad\/node';.* your first import/
      : /Use a browser with WebGPU/; // the browser tests run this file in a page
    await assert.rejects(useDeviceForTfjs(device, "webgpu-no-navigator"), (e: Error) => {
      assert.equal(e.name, "TypeError");
      assert.match(e.message, /needs navigator\.gpu, which is missing/);
      assert.match(e.message, runtime);
      return true;
    });
  } finally {
    if (own) Object.defineProperty(globalThis, "navigator", own);
    else delete (globalThis as { navigator?: unknown }).navigator;
  }
  assert.equal(tf.getBackend(), before); // nothing was registered or switched
});

test("TfjsAdagrad: a variable on another GPUDevice is refused", () =>
  withTfjs(async () => {
    const shared = await tfjsOnSharedDevice();
    const other = await requestDevice();
    assert.notEqual(other, shared);
    const w = tf.variable(tf.tensor1d(randomValues(rng(13), 11)), true, "tfjs_test_here");
    const g = tf.tensor1d(randomValues(rng(14), 11));
    const opt = new TfjsAdagrad({ learningRate: 0.1 });
    opt.applyGradients({ tfjs_test_here: g });
    const before = [await readFresh(w), (await opt.getWeights())[1].tensor.dataSync()];
    // TF.js on a second device: a variable made there, then TF.js back on the shared device.
    await useDeviceForTfjs(other, "webgpu-tests-other");
    const there = tf.variable(tf.tensor1d(randomValues(rng(15), 11)), true, "tfjs_test_there");
    await there.data(); // owned by the other device's backend
    const gThere = tf.tensor1d(randomValues(rng(17), 11));
    await gThere.data();
    await tfjsOnSharedDevice();
    const g2 = tf.tensor1d(randomValues(rng(16), 11));
    for (const grads of [{ tfjs_test_there: g2 }, { tfjs_test_here: g2, tfjs_test_there: g2 }]) {
      assert.throws(() => opt.applyGradients(grads), {
        name: "TypeError",
        message:
          /variable 'tfjs_test_there' lives on another GPUDevice \(TF\.js backend 'webgpu-tests-other'\)/,
      });
    }
    assert.throws(() => opt.applyGradients({ tfjs_test_here: gThere }), {
      name: "TypeError",
      message: /gradient of 'tfjs_test_here' lives on another GPUDevice/,
    });
    assert.equal(opt.iterations, 1);
    assert.deepEqual([await readFresh(w), (await opt.getWeights())[1].tensor.dataSync()], before);
    opt.dispose();
    tf.dispose([w, g, g2, there, gThere]);
    tf.removeBackend("webgpu-tests-other");
    other.destroy();
  }));

test("TfjsAdagrad: numTensors is flat over 1,000 steps", () =>
  withTfjs(async () => {
    await tfjsOnSharedDevice();
    const model = embeddingModel(51);
    const opt = new TfjsAdagrad({ learningRate: 0.01 });
    model.compile({ optimizer: opt, loss: "meanSquaredError" });
    const { x, y } = embeddingData(52, 8);
    const grads = model.trainableWeights.map((w) => ({
      name: w.name,
      tensor: tf.randomNormal(w.shape as number[]),
    }));
    await model.trainOnBatch(x, y);
    opt.applyGradients(grads);
    const start = tf.memory().numTensors;
    for (let i = 0; i < 1000; i++) {
      if (i % 100 === 0) await model.trainOnBatch(x, y);
      else opt.applyGradients(grads);
    }
    await (await model.trainableWeights[0].read().data());
    assert.equal(tf.memory().numTensors, start);
    assert.equal(opt.iterations, 1002);
    tf.dispose([x, y, ...grads.map((g) => g.tensor)]);
    opt.dispose();
    model.dispose();
  }));
