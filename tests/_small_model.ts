// A small model with a fixed gradient sequence (a sparse table and a dense bias, step `k` always
// the same gradients), shared by the soak test and the device-loss tests.
import { Adagrad, IndexedSlices, VariableStore } from "../mod.ts";
import { randomValues, rng } from "./_reference.ts";

/** The model on `device`: its store, variables, optimizer, initial values and `step(k)`. */
export function smallModel(device: GPUDevice) {
  const store = new VariableStore(device);
  const random = rng(77);
  const init = { w: randomValues(random, 1200), b: randomValues(random, 7) };
  const w = store.variable("w", [300, 4], init.w);
  const b = store.variable("b", [7], init.b);
  const opt = new Adagrad({ learningRate: 0.1, decay: 0.05, clipnorm: 3 });
  const step = (k: number) => {
    const r = rng(500 + k);
    const indices = Int32Array.from({ length: 50 }, () => Math.floor(r() * 40));
    return opt.applyGradients([
      [new IndexedSlices(randomValues(r, 200), indices, [300, 4]), w],
      [randomValues(r, 7), b],
    ]);
  };
  return { store, w, b, opt, step, init };
}
