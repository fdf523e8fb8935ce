// Seeded fuzz of Adagrad's relatives: ProximalAdagrad, AdagradDA and RowWiseAdagrad with FBGEMM's
// options, with random strengths, schedules, clipping, IndexedSlices with duplicates, missing
// gradients and small arenas (variables split into windows), against the float64 kernels of
// _proximal_reference.ts. A failure names its seed; WEBGPU_ADAGRAD_FUZZ sets how many.
import { test } from "node:test";
import process from "node:process";
import {
  type AdagradBase,
  AdagradDA,
  ExponentialDecay,
  type GradientPair,
  IndexedSlices,
  ProximalAdagrad,
  RowWiseAdagrad,
  VariableStore,
} from "../../mod.ts";
import { withDevice } from "../_gpu.ts";
import { assertCloseL2, type Clip, randomValues, refClip, rng } from "../_reference.ts";
import { skippingVariables } from "../_console.ts";
import {
  adagradDAStep,
  coalesce,
  denseRows,
  familyState,
  fbgemmRowWiseStep,
  proximalStep,
} from "../_proximal_reference.ts";

const FUZZ_CASES = Math.ceil(Number(process.env.WEBGPU_ADAGRAD_FUZZ ?? 24) / 2);
const EDGE_SIZES = [1, 3, 255, 257, 4095, 4097, 8193, 65536, 100_000];
const f = Math.fround;

for (let seed = 1; seed <= FUZZ_CASES; seed++) {
  test(`proximal family fuzz seed ${seed}: a random optimizer and options against float64`, async () => {
    const random = rng(seed * 7919);
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
    const kind = pick(["proximal", "adagradDA", "rowWise"] as const);
    const schedule = random() < 0.3 ? new ExponentialDecay(0.3, 2, 0.7) : null;
    const lr = pick([0.1, 0.5]);
    const clip: Clip = pick([{}, {}, { clipvalue: 0.6 }, { clipnorm: 20 }, { globalClipnorm: 40 }]);
    const l1 = pick([0, 0.01, 0.2]);
    const l2 = pick([0, 0.1, 1]);
    const initial = pick([0.1, 0.5]);
    const rowWise = {
      weightDecay: pick([0, 0.05, 0.5]),
      weightDecayMode: pick(["l2", "decoupled"] as const),
      maxNorm: pick([0, 0, 1.5, 10]),
    };
    const learningRate = schedule ?? lr;
    const opt: AdagradBase<object> = kind === "proximal"
      ? new ProximalAdagrad({
        learningRate,
        initialAccumulatorValue: initial,
        l1RegularizationStrength: l1,
        l2RegularizationStrength: l2,
        ...clip,
      })
      : kind === "adagradDA"
      ? new AdagradDA({
        learningRate,
        initialGradientSquaredAccumulatorValue: initial,
        l1RegularizationStrength: l1,
        l2RegularizationStrength: l2,
        ...clip,
      })
      : new RowWiseAdagrad({ learningRate, initialAccumulatorValue: initial, ...rowWise, ...clip });
    const what = `seed ${seed}: ${kind} ${
      JSON.stringify({ lr: schedule ? "schedule" : lr, clip, l1, l2, initial, rowWise })
    }`;
    await withDevice(async (device, own) => {
      own(opt);
      const store = own(
        new VariableStore(device, { maxArenaBytes: random() < 0.4 ? 256 * 1024 : undefined }),
      );
      const vars = Array.from({ length: 1 + Math.floor(random() * 4) }, (_, i) => {
        const n = random() < 0.5 ? pick(EDGE_SIZES) : 1 + Math.floor(random() * 20_000);
        const width = random() < 0.5 ? 1 + Math.floor(random() * 12) : 1;
        const shape = width === 1 ? [n] : [Math.max(1, Math.floor(n / width)), width];
        const init = randomValues(random, shape.reduce((a, b) => a * b, 1));
        const slotLength = kind === "rowWise" ? shape[0] : init.length;
        return {
          v: store.variable(`v${i}`, shape, init),
          rows: shape[0],
          width: shape[1] ?? 1,
          sparse: random() < 0.5,
          state: familyState(init, slotLength, initial),
          seen: false,
        };
      });
      const calls = 2 + Math.floor(random() * 4);
      for (let call = 0; call < calls; call++) {
        const pairs: GradientPair[] = [];
        const given: { x: (typeof vars)[number]; values: Float32Array; indices?: Int32Array }[] =
          [];
        for (const [k, x] of vars.entries()) {
          if (call > 0 && k > 0 && random() < 0.25) {
            pairs.push([null, x.v]);
            continue;
          }
          x.seen = true;
          if (x.sparse) {
            const nnz = 1 + Math.floor(random() * Math.min(3000, 3 * x.rows));
            const indices = Int32Array.from({ length: nnz }, () => Math.floor(random() * x.rows));
            const values = randomValues(random, nnz * x.width);
            pairs.push([new IndexedSlices(values, indices, x.v.shape), x.v]);
            given.push({ x, values, indices });
          } else {
            const values = randomValues(random, x.v.length);
            pairs.push([values, x.v]);
            given.push({ x, values });
          }
        }
        await skippingVariables(() => opt.applyGradients(pairs));
        const clipped = refClip(given.map((g) => Float64Array.from(g.values)), clip);
        const stepLr = f(schedule ? schedule.call(call) : lr);
        given.forEach(({ x, indices }, k) => {
          // Element-wise rules see rows of one element when dense; row-wise, the variable's rows.
          const width = kind === "rowWise" || indices ? x.width : 1;
          const rows = indices
            ? coalesce(indices, clipped[k], width)
            : denseRows(clipped[k], width);
          if (kind === "proximal") {
            proximalStep(x.state, rows, width, { lr: stepLr, l1: f(l1), l2: f(l2) });
          } else if (kind === "adagradDA") {
            adagradDAStep(x.state, rows, width, { lr: stepLr, l1: f(l1), l2: f(l2) }, call + 1);
          } else {
            fbgemmRowWiseStep(x.state, rows, width, {
              lr: stepLr,
              eps: f(1e-7),
              weightDecay: f(rowWise.weightDecay),
              mode: rowWise.weightDecayMode,
              maxNorm: f(rowWise.maxNorm),
            });
          }
        });
      }
      const slots = opt.getSlotNames();
      for (const x of vars) {
        if (!x.seen) continue;
        const at = `${what}: ${x.v.name} ${JSON.stringify(x.v.shape)}`;
        assertCloseL2(await x.v.read(), x.state.value, 2e-5, `${at} variable`);
        const last = await opt.getSlot(x.v, slots[slots.length - 1]).read();
        assertCloseL2(last, x.state.accum, 2e-5, `${at} ${slots[slots.length - 1]}`);
        if (kind === "adagradDA") {
          const sums = await opt.getSlot(x.v, "gradient_accumulator").read();
          assertCloseL2(sums, x.state.gradientSum, 2e-5, `${at} gradient sums`);
        }
      }
    });
  });
}
