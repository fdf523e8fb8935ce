// skipNonFinite: a step with a NaN or an infinity anywhere in its gradients (sparse or dense, in
// any reduction tile) is skipped whole and not counted, so the guarded run equals a run that never
// took the poisoned steps (and moved its weights: two runs that did nothing would agree too);
// without the guard a NaN propagates, as in Keras.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Adagrad,
  type AdagradOptions,
  ExponentialDecay,
  type GradientPair,
  IndexedSlices,
  VariableStore,
} from "../../mod.ts";
import { withDevice } from "../_gpu.ts";
import { assertMoved } from "../_moved.ts";
import { randomValues, rng } from "../_reference.ts";

for (const rowWise of [false, true]) {
  // Elements of the dense variable, and sparse indices (of rows of 3): each spans three reduction
  // tiles. Row-wise, the dense gradient is checked in the row-wise arena's gradients (scalar).
  const DENSE = 70_001, NNZ = 24_000;
  test(`skipNonFinite${rowWise ? " (RowWiseAdagrad)" : ""}: a step with a NaN or an infinity is skipped whole`, async () => {
    await withDevice(async (device) => {
      const { RowWiseAdagrad } = await import("../../mod.ts");
      const make = (guard: boolean) => {
        const store = new VariableStore(device);
        const random = rng(31);
        const init = { w: randomValues(random, 600), b: randomValues(random, DENSE) };
        const w = store.variable("w", [200, 3], init.w);
        // Past one reduction tile (32,768 elements; the check reads in tiles of that size), with
        // a last vector that reaches into the padding.
        const b = store.variable("b", [DENSE], init.b);
        const options: AdagradOptions = {
          // Decay and a schedule: the learning rate of every step depends on the true count.
          learningRate: new ExponentialDecay(0.2, 3, 0.5),
          decay: 0.1,
          clipnorm: 5,
          skipNonFinite: guard,
        };
        const opt = rowWise ? new RowWiseAdagrad(options) : new Adagrad(options);
        return { store, w, b, opt, init };
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
        assertMoved(await guarded[name].read(), guarded.init[name], name);
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
