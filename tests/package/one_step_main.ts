// A fixed training step, printed as JSON, for comparing runtimes: tests/package/runtimes_test.ts
// runs it under Deno, Node (the npm build) and Bun. Dense, sparse (with duplicates) and row-wise
// gradients, norm clipping and a schedule, three steps, on fixed data.
import process from "node:process";
import {
  Adagrad,
  ExponentialDecay,
  IndexedSlices,
  RowWiseAdagrad,
  VariableStore,
} from "../../mod.ts";
import { sharedDevice } from "../_gpu.ts";
import { randomValues, rng } from "../_reference.ts";

/** The seed of the run's random numbers. */
export const SEED = 2024;

/** The variables' initial values: the first numbers `random` (`rng(SEED)`) draws. */
export function initialValues(random: () => number): Record<string, Float32Array> {
  return {
    dense: randomValues(random, 1000),
    table: randomValues(random, 300 * 17),
    rows: randomValues(random, 200 * 9),
  };
}

/** The variables and accumulators after three steps, as float32 values. */
export async function oneStepResults(device: GPUDevice): Promise<Record<string, number[]>> {
  const random = rng(SEED);
  const init = initialValues(random);
  const store = new VariableStore(device);
  const dense = store.variable("dense", [1000], init.dense);
  const table = store.variable("table", [300, 17], init.table);
  const rows = store.variable("rows", [200, 9], init.rows);
  const opt = new Adagrad({ learningRate: new ExponentialDecay(0.1, 2, 0.5), clipnorm: 4 });
  const rowWise = new RowWiseAdagrad({ learningRate: 0.05, globalClipnorm: 2 });
  for (let step = 0; step < 3; step++) {
    const indices = Int32Array.from({ length: 700 }, () => Math.floor(random() * 40));
    await opt.applyGradients([
      [randomValues(random, 1000), dense],
      [new IndexedSlices(randomValues(random, 700 * 17), indices, [300, 17]), table],
    ]);
    const ids = Int32Array.from({ length: 90 }, () => Math.floor(random() * 200));
    await rowWise.applyGradients([[
      new IndexedSlices(randomValues(random, 90 * 9), ids, [200, 9]),
      rows,
    ]]);
  }
  const out: Record<string, number[]> = {};
  for (const v of [dense, table]) {
    out[v.name] = [...await v.read()];
    out[`${v.name}/accumulator`] = [...await opt.getSlot(v, "accumulator").read()];
  }
  out.rows = [...await rows.read()];
  out["rows/accumulator"] = [...await rowWise.getSlot(rows, "accumulator").read()];
  opt.destroy();
  rowWise.destroy();
  store.destroy();
  return out;
}

if (import.meta.main || process.argv[1]?.endsWith("one_step_main.js")) {
  const device = await sharedDevice();
  console.log(JSON.stringify(await oneStepResults(device)));
  device.destroy();
}
