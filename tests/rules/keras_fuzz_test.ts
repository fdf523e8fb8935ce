// Seeded fuzz of Keras's Adagrad: random configurations (clipping, decay, schedules, initial
// accumulators, small arenas), random variables of sizes around the workgroup and tile sizes,
// dense and sparse gradients, missing ones, against the float64 reference. A failure names its
// seed; WEBGPU_ADAGRAD_FUZZ sets how many.
import { test } from "node:test";
import process from "node:process";
import {
  Adagrad,
  type AdagradOptions,
  ExponentialDecay,
  type GradientPair,
  IndexedSlices,
  PiecewiseConstantDecay,
  VariableStore,
} from "../../mod.ts";
import { withDevice } from "../_gpu.ts";
import { skippingVariables } from "../_console.ts";
import {
  assertCloseL2,
  randomValues,
  refClip,
  refSparseStep,
  type RefState,
  refState,
  refStep,
  rng,
} from "../_reference.ts";

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
