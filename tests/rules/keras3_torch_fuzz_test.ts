// Seeded fuzz of the Keras 3 and PyTorch rules: a random rule and options (schedules, clipping,
// weight decay, exclusions, EMA, accumulation, loss scale factor; lr_decay, maximize, IndexedSlices,
// missing gradients), random variables and steps, against the rule's float64 reference
// (_rules_reference.ts). A failure names its seed; WEBGPU_ADAGRAD_FUZZ sets how many.
import { test } from "node:test";
import process from "node:process";
import {
  Adagrad,
  ExponentialDecay,
  type GradientPair,
  IndexedSlices,
  type Keras3AdagradOptions,
  type TorchAdagradOptions,
  VariableStore,
} from "../../mod.ts";
import { withDevice } from "../_gpu.ts";
import { assertCloseL2, randomValues, rng } from "../_reference.ts";
import { skippingVariables } from "../_console.ts";
import {
  Keras3Reference,
  type Keras3State,
  keras3State,
  torchSparseStep,
  torchState,
  torchStep,
} from "../_rules_reference.ts";

const FUZZ_CASES = Number(process.env.WEBGPU_ADAGRAD_FUZZ ?? 24);
const EDGE_SIZES = [1, 3, 255, 257, 4095, 4097, 8193, 65536, 100_000];
const f = Math.fround;

for (let seed = 1; seed <= FUZZ_CASES; seed++) {
  test(`rules fuzz seed ${seed}: a random rule and options against its float64 reference`, async () => {
    const random = rng(seed * 104_729);
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
    const maybe = <T>(p: number, value: T) => random() < p ? value : undefined;
    const size = () => random() < 0.5 ? pick(EDGE_SIZES) : 1 + Math.floor(random() * 20_000);
    const keras3 = random() < 0.5;
    let options: Keras3AdagradOptions | TorchAdagradOptions;
    let sparseAllowed: boolean;
    let missingAllowed: boolean;
    if (keras3) {
      const o: Keras3AdagradOptions = {
        learningRate: pick([0.1, 0.03, new ExponentialDecay(0.2, 2, 0.7)]),
        epsilon: pick([1e-7, 0.1]),
        initialAccumulatorValue: pick([0.1, 0, 0.5]),
        ...pick([{}, { clipvalue: 0.4 }, { clipnorm: 1.5 }, { globalClipnorm: 2 }]),
        weightDecay: maybe(0.4, pick([0.01, 0.1])),
        lossScaleFactor: maybe(0.3, pick([4, 1024, 0.5])),
        gradientAccumulationSteps: maybe(0.4, pick([2, 3])),
      };
      if (random() < 0.4) {
        Object.assign(o, {
          useEma: true,
          emaMomentum: pick([0.9, 0.5]),
          emaOverwriteFrequency: maybe(0.5, pick([1, 2, 3])),
        });
      }
      options = o;
      // Whole-variable options take dense gradients; Keras 3 averages and resets every variable,
      // so the fuzz gives every variable a gradient in every call when it has them.
      sparseAllowed = o.weightDecay === undefined && !o.useEma && !o.gradientAccumulationSteps;
      missingAllowed = !o.useEma && !o.gradientAccumulationSteps;
    } else {
      const o: TorchAdagradOptions = {
        lr: pick([0.1, 0.02]),
        lrDecay: pick([0, 0.3]),
        weightDecay: pick([0, 0, 0.05]),
        initialAccumulatorValue: pick([0, 0.1]),
        eps: pick([1e-10, 0.1]),
        maximize: random() < 0.3,
      };
      options = o;
      sparseAllowed = o.weightDecay === 0;
      missingAllowed = true;
    }
    const what = `seed ${seed}: ${keras3 ? "keras3" : "torch"} ${
      JSON.stringify(options, (k, v) =>
        k === "learningRate" && typeof v === "object" ? "schedule" : v)
    }`;
    await withDevice(async (device, own) => {
      const store = own(
        new VariableStore(device, {
          maxArenaBytes: random() < 0.3 ? 512 * 1024 : undefined,
        }),
      );
      const initial = keras3
        ? (options as Keras3AdagradOptions).initialAccumulatorValue!
        : (options as TorchAdagradOptions).initialAccumulatorValue!;
      const vars = Array.from({ length: 1 + Math.floor(random() * 5) }, (_, i) => {
        const n = size();
        const width = random() < 0.4 ? 1 + Math.floor(random() * 9) : 1;
        const shape = width === 1 ? [n] : [Math.max(1, Math.floor(n / width)), width];
        const init = randomValues(random, shape.reduce((a, b) => a * b, 1));
        return {
          v: store.variable(`v${i}/${pick(["kernel", "bias"])}`, shape, init),
          rows: shape[0],
          width: shape[1] ?? 1,
          init,
          sparse: sparseAllowed && random() < 0.4,
          k3: keras3State(init, initial),
          pt: torchState(init, initial),
          seen: false,
        };
      });
      const opt = own(
        keras3
          ? Adagrad.keras3(options as Keras3AdagradOptions)
          : Adagrad.torch(options as TorchAdagradOptions),
      );
      const o3 = options as Keras3AdagradOptions;
      const exclude = keras3 && o3.weightDecay !== undefined && random() < 0.5;
      if (exclude) opt.excludeFromWeightDecay({ varNames: ["bias"] });
      const schedule = o3.learningRate instanceof ExponentialDecay ? o3.learningRate : null;
      const ref = new Keras3Reference({
        lr: (c) => schedule ? f(schedule.call(c)) : f(o3.learningRate as number),
        epsilon: f(o3.epsilon ?? 1e-7),
        initial,
        weightDecay: o3.weightDecay == null ? undefined : f(o3.weightDecay),
        clip: {
          clipvalue: o3.clipvalue === undefined ? undefined : f(o3.clipvalue!),
          clipnorm: o3.clipnorm ?? undefined,
          globalClipnorm: o3.globalClipnorm ?? undefined,
        },
        useEma: o3.useEma,
        emaMomentum: o3.emaMomentum === undefined ? undefined : f(o3.emaMomentum),
        emaOverwriteFrequency: o3.emaOverwriteFrequency ?? undefined,
        lossScaleFactor: o3.lossScaleFactor ?? undefined,
        gradientAccumulationSteps: o3.gradientAccumulationSteps ?? undefined,
      });
      const ot = options as TorchAdagradOptions;
      const torch = {
        lr: f(ot.lr as number),
        lrDecay: f(ot.lrDecay!),
        weightDecay: f(ot.weightDecay!),
        eps: f(ot.eps!),
        maximize: ot.maximize!,
      };
      const calls = 3 + Math.floor(random() * 4);
      for (let call = 0; call < calls; call++) {
        const pairs: GradientPair[] = [];
        const entries: { state: Keras3State; grad: Float32Array; decay: boolean }[] = [];
        for (const [k, x] of vars.entries()) {
          // Some gradients missing, never all of them (Keras refuses that).
          if (missingAllowed && call > 0 && k > 0 && random() < 0.25) {
            pairs.push([null, x.v]);
            continue;
          }
          x.seen = true;
          if (x.sparse) {
            const nnz = 1 + Math.floor(random() * Math.min(2000, 3 * x.rows));
            // Keras 3's sparse rule matches a dense gradient's when indices are unique.
            const indices = keras3
              ? Int32Array.from(
                new Set(Array.from({ length: nnz }, () => Math.floor(random() * x.rows))),
              )
              : Int32Array.from({ length: nnz }, () => Math.floor(random() * x.rows));
            const values = randomValues(random, indices.length * x.width);
            pairs.push([new IndexedSlices(values, indices, x.v.shape), x.v]);
            if (keras3) {
              const dense = new Float32Array(x.v.length);
              indices.forEach((r, k) =>
                dense.set(values.subarray(k * x.width, (k + 1) * x.width), r * x.width)
              );
              entries.push({ state: x.k3, grad: dense, decay: true });
            } else {
              torchSparseStep(x.pt, x.width, indices, values, torch);
            }
          } else {
            const values = randomValues(random, x.v.length);
            pairs.push([values, x.v]);
            if (keras3) {
              entries.push({
                state: x.k3,
                grad: values,
                decay: !(exclude && x.v.name.includes("bias")),
              });
            } else torchStep(x.pt, values, torch);
          }
        }
        await skippingVariables(() => opt.applyGradients(pairs));
        if (keras3) ref.apply(entries);
      }
      for (const x of vars) {
        if (!x.seen) continue;
        const at = `${what}: ${x.v.name}`;
        const s = keras3 ? x.k3 : x.pt;
        assertCloseL2(await x.v.read(), s.value, 2e-5, `${at} variable`);
        const accum = keras3 ? x.k3.accum : x.pt.sum;
        const slot = keras3 ? "accumulator" : "sum";
        assertCloseL2(await opt.getSlot(x.v, slot).read(), accum, 2e-5, `${at} ${slot}`);
        if (keras3 && o3.useEma) {
          assertCloseL2(
            await opt.getSlot(x.v, "average").read(),
            x.k3.average,
            2e-5,
            `${at} average`,
          );
        }
      }
    });
  });
}
