// Reliability: a lost device is reported by every call and training resumes from a checkpoint on a
// new device; a long run allocates nothing and does not grow the heap; and random configurations
// agree with the float64 reference (seeded: a failure prints its seed).
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  Adagrad,
  type AdagradOptions,
  decodeSafetensors,
  DeviceLostError,
  ExponentialDecay,
  type GradientPair,
  IndexedSlices,
  PiecewiseConstantDecay,
  restoreCheckpoint,
  saveCheckpoint,
  VariableStore,
} from "../mod.ts";
import { counting, reset } from "./_counting.ts";
import { requestDevice, withDevice } from "./_gpu.ts";
import { skippingVariables } from "./_console.ts";
import { repoRoot } from "./_repo.ts";
import {
  assertCloseL2,
  randomValues,
  refClip,
  refSparseStep,
  type RefState,
  refState,
  refStep,
  rng,
} from "./_reference.ts";

/** A small model and a fixed gradient sequence: step `k` always gets the same gradients. */
function build(device: GPUDevice) {
  const store = new VariableStore(device);
  const random = rng(77);
  const w = store.variable("w", [300, 4], randomValues(random, 1200));
  const b = store.variable("b", [7], randomValues(random, 7));
  const opt = new Adagrad({ learningRate: 0.1, decay: 0.05, clipnorm: 3 });
  const step = (k: number) => {
    const r = rng(500 + k);
    const indices = Int32Array.from({ length: 50 }, () => Math.floor(r() * 40));
    return opt.applyGradients([
      [new IndexedSlices(randomValues(r, 200), indices, [300, 4]), w],
      [randomValues(r, 7), b],
    ]);
  };
  return { store, w, b, opt, step };
}

test("a lost device: every call says so; the last checkpoint resumes on a new device", async () => {
  const straight = await withDevice(async (device) => {
    const m = build(device);
    for (let k = 0; k < 5; k++) await m.step(k);
    const out = [
      await m.w.read(),
      await m.b.read(),
      await m.opt.getSlot(m.w, "accumulator").read(),
    ];
    m.opt.destroy();
    m.store.destroy();
    return out;
  });

  const doomed = await requestDevice();
  const m = build(doomed);
  for (let k = 0; k < 3; k++) await m.step(k);
  const checkpoint = await saveCheckpoint({ variables: [m.w, m.b], optimizer: m.opt });
  await m.step(3); // work after the checkpoint, lost with the device
  doomed.destroy();
  await doomed.lost;

  await assert.rejects(m.step(4), DeviceLostError, "applyGradients");
  assert.equal(m.opt.iterations, 4, "the refused step is not counted");
  assert.throws(() => m.w.read(), DeviceLostError, "variable.read");
  assert.throws(() => m.w.write(1), DeviceLostError, "variable.write");
  assert.throws(() => m.opt.getSlot(m.w, "accumulator").read(), DeviceLostError, "slot.read");
  await assert.rejects(m.opt.getWeights(), DeviceLostError, "getWeights");
  assert.throws(() => m.opt.setWeights([0]), DeviceLostError, "setWeights");
  await assert.rejects(saveCheckpoint({ variables: [m.w] }), DeviceLostError, "saveCheckpoint");
  const error = await m.step(4).catch((e) => e);
  assert.match(error.message, /the GPU device was lost \(destroyed.*restoreCheckpoint/);

  await withDevice(async (device) => {
    const again = build(device);
    restoreCheckpoint(checkpoint, { variables: [again.w, again.b], optimizer: again.opt });
    for (let k = 3; k < 5; k++) await again.step(k);
    assert.deepEqual(
      [
        await again.w.read(),
        await again.b.read(),
        await again.opt.getSlot(again.w, "accumulator").read(),
      ],
      straight,
      "resumed on a new device = uninterrupted",
    );
    again.opt.destroy();
    again.store.destroy();
  });
});

test("soak: 10,000 steps create no GPU object and do not grow the heap", async () => {
  await withDevice((device) =>
    counting(device, async (counts) => {
      const m = build(device);
      for (let k = 0; k < 20; k++) await m.step(k % 50); // sizes every buffer
      await device.queue.onSubmittedWorkDone();
      // Heap after a full collection where the runtime offers one (the test commands turn it on:
      // node --expose-gc, deno --v8-flags=--expose-gc, Bun.gc), so garbage does not count.
      const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
      const collect = () => g.gc ? g.gc() : g.Bun?.gc(true);
      const heap = () => {
        collect();
        return process.memoryUsage().heapUsed;
      };
      reset(counts);
      const samples: number[] = [];
      for (let k = 0; k < 10_000; k++) {
        await m.step(k % 50);
        if (k % 2000 === 1999) {
          await device.queue.onSubmittedWorkDone();
          samples.push(heap());
        }
      }
      assert.deepEqual(counts.created, {}, "GPU objects created during 10,000 steps");
      assert.equal(counts.submits, 10_000);
      // From the first sample (2,000 steps) to the last (10,000): a leak of even 256 bytes per step
      // (the step's own arrays kept alive) would exceed this.
      const grown = samples.at(-1)! - samples[0];
      const collected = Boolean(g.gc ?? g.Bun);
      assert.ok(
        grown < (collected ? 2e6 : 20e6),
        `heap grew by ${(grown / 1e6).toFixed(2)} MB over 8,000 steps (collected: ${collected})`,
      );
      assert.equal(m.opt.iterations, 10_020);
      m.opt.destroy();
      m.store.destroy();
    })
  );
});

const FUZZ_CASES = Number(process.env.WEBGPU_ADAGRAD_FUZZ ?? 24);
const EDGE_SIZES = [1, 3, 255, 256, 257, 4095, 4096, 4097, 8193, 65536, 100_000];

for (let seed = 1; seed <= FUZZ_CASES; seed++) {
  test(`fuzz seed ${seed}: a random configuration against the float64 reference`, async () => {
    const random = rng(seed * 7919);
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
    const size = () => random() < 0.5 ? pick(EDGE_SIZES) : 1 + Math.floor(random() * 20_000);
    const clip = pick([{}, { clipvalue: 0.3 }, { clipnorm: 1.5 }, { globalClipnorm: 2 }, {
      clipvalue: 0.5,
      clipnorm: 1,
    }]);
    const decay = random() < 0.3 ? 0.02 : 0;
    const schedule = pick([
      null,
      new ExponentialDecay(0.2, 2, 0.7),
      new PiecewiseConstantDecay([1], [0.2, 0.05]),
    ]);
    const options: AdagradOptions = {
      learningRate: schedule ?? 0.1,
      decay,
      initialAccumulatorValue: pick([0.1, 0.5, 0.01]),
      ...clip,
    };
    const what = `seed ${seed}: ${
      JSON.stringify({ ...options, learningRate: schedule?.constructor.name ?? 0.1 })
    }`;
    await withDevice(async (device) => {
      const store = new VariableStore(device, {
        // Small arenas (variables of up to 100k floats still fit) put variables in several.
        maxArenaBytes: random() < 0.3 ? 512 * 1024 : undefined,
      });
      const vars = Array.from({ length: 1 + Math.floor(random() * 5) }, (_, i) => {
        const rows = size();
        const width = random() < 0.4 ? 1 + Math.floor(random() * 9) : 1;
        const shape = width === 1 ? [rows] : [Math.max(1, Math.floor(rows / width)), width];
        const init = randomValues(random, shape.reduce((a, b) => a * b, 1));
        return {
          v: store.variable(`v${i}`, shape, init),
          rows: shape[0],
          width: shape[1] ?? 1,
          init,
          sparse: random() < 0.4,
        };
      });
      const opt = new Adagrad(options);
      const states: (RefState | null)[] = vars.map(() => null);
      for (let step = 0; step < 3; step++) {
        const lr = opt.currentLearningRate;
        const pairs: GradientPair[] = [];
        const grads: { k: number; values: Float32Array; indices?: Int32Array }[] = [];
        for (const [k, x] of vars.entries()) {
          if (random() < 0.2 && step > 0) { // missing this step
            pairs.push([null, x.v]);
            continue;
          }
          if (x.sparse) {
            const nnz = 1 + Math.floor(random() * Math.min(3000, 3 * x.rows));
            const indices = Int32Array.from({ length: nnz }, () => Math.floor(random() * x.rows));
            const values = randomValues(random, nnz * x.width);
            pairs.push([new IndexedSlices(values, indices, x.v.shape), x.v]);
            grads.push({ k, values, indices });
          } else {
            const values = randomValues(random, x.v.length);
            pairs.push([values, x.v]);
            grads.push({ k, values });
          }
        }
        if (grads.length === 0) continue;
        await skippingVariables(() => opt.applyGradients(pairs));
        const clipped = refClip(grads.map((g) => Float64Array.from(g.values)), clip);
        grads.forEach((g, j) => {
          const x = vars[g.k];
          const state = states[g.k] ??= refState(x.init, options.initialAccumulatorValue!);
          if (g.indices) refSparseStep(state, x.width, g.indices, clipped[j], lr, 1e-7);
          else refStep(state, clipped[j], lr, 1e-7);
        });
      }
      for (const [k, x] of vars.entries()) {
        const state = states[k];
        if (!state) continue;
        assertCloseL2(await x.v.read(), state.value, 2e-6, `${what}: ${x.v.name} variable`);
        assertCloseL2(
          await opt.getSlot(x.v, "accumulator").read(),
          state.accum,
          2e-6,
          `${what}: ${x.v.name} accumulator`,
        );
      }
      opt.destroy();
      store.destroy();
    });
  });
}

for (const rowWise of [false, true]) {
  // Elements of the dense variable, and sparse indices (of rows of 3): each spans three reduction
  // tiles. Row-wise, the dense gradient is checked in the row-wise arena's gradients (scalar).
  const DENSE = 70_001, NNZ = 24_000;
  test(`skipNonFinite${rowWise ? " (RowWiseAdagrad)" : ""}: a step with a NaN or an infinity is skipped whole`, async () => {
    await withDevice(async (device) => {
      const { RowWiseAdagrad } = await import("../mod.ts");
      const make = (guard: boolean) => {
        const store = new VariableStore(device);
        const random = rng(31);
        const w = store.variable("w", [200, 3], randomValues(random, 600));
        // Past one reduction tile (32,768 elements; the check reads in tiles of that size), with
        // a last vector that reaches into the padding.
        const b = store.variable("b", [DENSE], randomValues(random, DENSE));
        const options: AdagradOptions = {
          // Decay and a schedule: the learning rate of every step depends on the true count.
          learningRate: new ExponentialDecay(0.2, 3, 0.5),
          decay: 0.1,
          clipnorm: 5,
          skipNonFinite: guard,
        };
        const opt = rowWise ? new RowWiseAdagrad(options) : new Adagrad(options);
        return { store, w, b, opt };
      };
      const guarded = make(true);
      const reference = make(false);
      const poison = [NaN, Infinity, -Infinity];
      let bad = 0;
      for (let step = 0; step < 40; step++) {
        const r = rng(900 + step);
        const indices = Int32Array.from({ length: NNZ }, () => Math.floor(r() * 200));
        const values = randomValues(r, 3 * NNZ);
        const dense = randomValues(r, DENSE);
        // Every third step carries one non-finite value, in the sparse or the dense gradient, in
        // turn in the first, a middle and the last reduction tile (the last element included).
        const poisoned = step % 3 === 1;
        if (poisoned) {
          bad++;
          const where = (n: number) =>
            [0, n >> 1, n - 1 - Math.floor(r() * 2000), n - 1][(bad >> 1) % 4];
          if (step % 2) values[where(3 * NNZ)] = poison[step % 3];
          else dense[where(DENSE)] = poison[step % 3];
        }
        const pairs = (m: typeof guarded): GradientPair[] => [
          [new IndexedSlices(values, indices, [200, 3]), m.w],
          [dense, m.b],
        ];
        await guarded.opt.applyGradients(pairs(guarded));
        if (!poisoned) await reference.opt.applyGradients(pairs(reference));
      }
      assert.equal(await guarded.opt.skippedSteps(), bad);
      assert.equal(guarded.opt.iterations, reference.opt.iterations, "skipped steps not counted");
      for (const name of ["w", "b"] as const) {
        assert.deepEqual(await guarded[name].read(), await reference[name].read(), name);
        assert.deepEqual(
          await guarded.opt.getSlot(guarded[name], "accumulator").read(),
          await reference.opt.getSlot(reference[name], "accumulator").read(),
          `${name} accumulator`,
        );
      }
      // Without the guard a NaN propagates, as in Keras.
      await reference.opt.applyGradients([[new Float32Array(DENSE).fill(NaN), reference.b]]);
      assert.ok(Number.isNaN((await reference.b.read())[0]));
      assert.equal(await reference.opt.skippedSteps(), 0);
      for (const m of [guarded, reference]) {
        m.opt.destroy();
        m.store.destroy();
      }
    });
  });
}

for (const mode of ["bytes", "streamed"] as const) {
  test(`a process killed while saving (${mode}) leaves a whole checkpoint, old or new`, {
    skip: "Deno" in globalThis ? false : "spawns Deno; run from the Deno suite",
  }, async () => {
    const dir = await mkdtemp(join(tmpdir(), "webgpu-adagrad-atomic-"));
    const path = join(dir, "model.safetensors");
    const root = fileURLToPath(repoRoot());
    const deno = (globalThis as unknown as { Deno: { execPath(): string } }).Deno.execPath();
    const args = ["run", "-A", `${root}tests/write_checkpoints_main.ts`];
    if (mode === "streamed") args.push("--streamed");
    try {
      let checked = 0;
      for (const delay of [20, 60, 110, 170]) {
        const child = spawn(deno, [...args, path]);
        // Wait until it writes, then a little more, then kill it: mid-write, nearly always.
        await new Promise((resolve) => child.stdout.once("data", resolve));
        await new Promise((resolve) => setTimeout(resolve, delay));
        child.kill("SIGKILL");
        await new Promise((resolve) => child.on("exit", resolve));
        const file = decodeSafetensors(new Uint8Array(await readFile(path))); // throws if partial
        const fill = Number(file.metadata.fill);
        const blob = file.tensors.get("blob")!.data;
        assert.equal(blob.length, 32 << 20);
        const values = mode === "bytes" ? blob : new Float32Array(blob.slice().buffer);
        assert.ok(values.every((x) => x === fill), "the file's bytes are one whole version");
        checked++;
      }
      assert.equal(checked, 4);
      // Temporary files of killed writes may remain; the checkpoint itself is never one of them.
      assert.ok((await readdir(dir)).includes("model.safetensors"));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
