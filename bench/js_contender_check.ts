/**
 * Checks that the benchmark's JavaScript contender (_js_adagrad.ts) computes what the package
 * computes: three steps of each on the same variables and gradients, dense (plain, clipnorm,
 * global_clipnorm) and sparse (the benchmark's own indices and values, duplicates included, of
 * its quick and its full large case), then the variables compared element by element. Plain
 * dense and sparse steps should agree bit for bit; clipped ones within float32 rounding (1e-6
 * absolute), since the norms are summed in another order. Exits 1 when they disagree.
 *
 *     deno run --allow-read bench/js_contender_check.ts
 *
 * @module
 */
import { Adagrad, type AdagradOptions, IndexedSlices, VariableStore } from "../mod.ts";
import { mulberry32 } from "../examples/_random.ts";
import { sparseData } from "./_contenders.ts";
import { JsDenseAdagrad, JsSparseAdagrad } from "./_js_adagrad.ts";
import { benchDevice } from "./_timing.ts";

const STEPS = 3, STORAGE = 0x80, COPY_SRC = 0x4, COPY_DST = 0x8;
const { device, description } = await benchDevice();
const random = mulberry32(7);
const values = (n: number, scale = 0.2) =>
  Float32Array.from({ length: n }, () => (random() - 0.5) * scale);

function compare(name: string, ours: Float32Array, theirs: Float32Array, exact: boolean): boolean {
  let differ = 0, worst = 0;
  for (let i = 0; i < ours.length; i++) {
    if (ours[i] === theirs[i]) continue;
    differ++;
    worst = Math.max(worst, Math.abs(ours[i] - theirs[i]));
  }
  // Variables of magnitude ~0.1: a last-bit difference in a clipped gradient moves them ~1e-9.
  const ok = exact ? differ === 0 : worst <= 1e-6;
  console.log(
    `${ok ? "ok" : "FAIL"}: ${name}: ${differ} of ${ours.length} elements differ` +
      (differ ? `, by at most ${worst.toExponential(1)}` : ""),
  );
  return ok;
}

let ok = true;
const clips: AdagradOptions[] = [{}, { clipnorm: 1 }, { globalClipnorm: 1 }];
for (const clip of clips) {
  const sizes = [10_000, 4_099, 3];
  const init = sizes.map((n) => values(n));
  // Gradients large enough that the clipping scales them.
  const grads = sizes.map((n) => values(n, 6));
  const store = new VariableStore(device);
  const vars = sizes.map((n, i) => store.variable(`v${i}`, [n], init[i]));
  vars.forEach((v, i) => device.queue.writeBuffer(v.grad.buffer, v.grad.offset, grads[i]));
  const opt = new Adagrad({ learningRate: 0.01, ...clip });
  const js = new JsDenseAdagrad(init.map((x) => x.slice()), grads, {
    learningRate: 0.01,
    clipnorm: clip.clipnorm,
    globalClipnorm: clip.globalClipnorm,
  });
  for (let s = 0; s < STEPS; s++) {
    opt.applyGradients(vars.map((v) => [v.grad, v] as const));
    js.step();
  }
  const name = Object.keys(clip)[0] ?? "plain";
  for (let i = 0; i < sizes.length; i++) {
    const exact = name === "plain";
    ok = compare(
      `dense ${name}, variable of ${sizes[i]}`,
      await vars[i].read(),
      js.variables[i],
      exact,
    ) && ok;
  }
  opt.destroy();
  store.destroy();
}

// The quick run's large sparse case and the full run's (the 1M indices into 1M x 16).
for (
  const sparse of [{ rows: 16_000, width: 16, nnz: 16_384 }, {
    rows: 1_000_000,
    width: 16,
    nnz: 1 << 20,
  }]
) {
  const data = sparseData(sparse);
  const store = new VariableStore(device);
  const table = store.variable("table", [sparse.rows, sparse.width], 0.5);
  const upload = (d: Uint32Array<ArrayBuffer> | Float32Array<ArrayBuffer>) => {
    const b = device.createBuffer({ size: d.byteLength, usage: STORAGE | COPY_SRC | COPY_DST });
    device.queue.writeBuffer(b, 0, d);
    return b;
  };
  const [vb, ib] = [upload(data.values), upload(data.indices)];
  const slices = new IndexedSlices(vb, ib, [sparse.rows, sparse.width]);
  const opt = new Adagrad({ learningRate: 0.01 });
  const js = new JsSparseAdagrad(
    new Float32Array(sparse.rows * sparse.width).fill(0.5),
    sparse.width,
    data.indices,
    data.values,
    { learningRate: 0.01 },
  );
  for (let s = 0; s < STEPS; s++) {
    opt.applyGradients([[slices, table]]);
    js.step();
  }
  const name = `sparse, ${sparse.nnz} indices (${data.distinctRows} rows) into ` +
    `${sparse.rows} x ${sparse.width}`;
  ok = compare(name, await table.read(), js.table, true) && ok;
  opt.destroy();
  store.destroy();
  vb.destroy();
  ib.destroy();
}
device.destroy();
console.log(`${ok ? "agree" : "DISAGREE"}, ${STEPS} steps, on ${description}`);
if (!ok) Deno.exit(1);
