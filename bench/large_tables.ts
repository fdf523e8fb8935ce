/**
 * Tables larger than one binding (issue 23): what a variable cut into windows costs against the
 * same work in one binding, each pair timed in one process with interleaved rounds on one
 * adapter (msPerStepEach), on WebGPU's default limits (128 MiB per binding):
 *
 * - a 262,144-index sparse step into a 4M x 32 table (512 MB, 4 windows) against the same step
 *   into a 1M x 32 table (one binding); target at most 1.3x;
 * - the 1,048,576-index step into an 8M x 32 table (1 GiB, 8 windows) against plain JavaScript
 *   (bench/_js_adagrad.ts) on the same table; target at most 1.0;
 * - a dense step on a variable of 4 bindings against the same bytes in 4 variables; target at
 *   most 1.1x;
 * - on a fallback (CPU) adapter, 1 x 16M dense steps with 16,384-element update tiles against
 *   4,096-element ones; target at least 12% faster.
 *
 * Checkpoints of a 1 GB table: `deno task bench:checkpoint`.
 *
 *     deno task bench:tables [--quick]
 *
 * @module
 */
import process from "node:process";
import { Adagrad, IndexedSlices, requestDevice, type Variable, VariableStore } from "../mod.ts";
import { setTileElements, TILE_ELEMENTS } from "../src/_kernels/kernels.ts";
import { JsSparseAdagrad } from "./_js_adagrad.ts";
import { isFallbackDevice } from "../src/device/_adapter_kind.ts";
import { random, sparseData } from "./_contenders.ts";
import { msPerStepEach, type Timed } from "./_timing.ts";

const quick = process.argv.includes("--quick");
const device = await requestDevice(); // WebGPU's default limits: 128 MiB per binding
// Read by requestDevice while the adapter was alive (see src/device/_adapter_kind.ts).
const fallback = isFallbackDevice(device);
const M = quick ? 1 << 14 : 1 << 20;
const sync = () => device.queue.onSubmittedWorkDone();

/** A sparse step of `nnz` indices (GPU buffers) into a `rows` x 32 table. */
function sparseStep(
  rows: number,
  nnz: number,
  maxArenaBytes?: number,
): Timed & { dispose(): void; windows: number } {
  const store = new VariableStore(device, { maxArenaBytes });
  const table = store.variable("table", [rows, 32], 0.5);
  const { indices, values } = sparseData({ rows, width: 32, nnz });
  const upload = (data: Uint32Array | Float32Array) => {
    const b = device.createBuffer({
      size: data.byteLength,
      usage: 0x80 | 0x4,
      mappedAtCreation: true,
    });
    new Uint8Array(b.getMappedRange()).set(new Uint8Array(data.buffer));
    b.unmap();
    return b;
  };
  const [ib, vb] = [upload(indices), upload(values)];
  const slices = new IndexedSlices(vb, ib, [rows, 32]);
  const opt = new Adagrad({ learningRate: 0.01 });
  return {
    windows: table.windows.length,
    step: () => opt.applyGradients([[slices, table]]),
    sync,
    dispose: () => [opt.destroy(), store.destroy(), ib.destroy(), vb.destroy()],
  };
}

/** Dense steps on `vars` variables of `length` each, their gradients written in place. */
function denseStep(vars: number, length: number): Timed & { dispose(): void; windows: number } {
  const store = new VariableStore(device);
  const vs: Variable[] = Array.from(
    { length: vars },
    (_, i) => store.variable(`v${i}`, [length], 0.5),
  );
  const g = random(Math.min(length, 1 << 22));
  for (const v of vs) {
    for (const w of v.windows) {
      for (let at = 0; at < w.length; at += g.length) {
        const n = Math.min(g.length, w.length - at);
        device.queue.writeBuffer(w.grad.buffer, w.grad.offset + 4 * at, g, 0, n);
      }
    }
  }
  const opt = new Adagrad({ learningRate: 0.01 });
  const pairs = vs.map((v) => [v.split ? v.windows : v.grad, v] as const);
  return {
    windows: vs.reduce((n, v) => n + v.windows.length, 0),
    step: () => opt.applyGradients(pairs as never),
    sync,
    dispose: () => [opt.destroy(), store.destroy()],
  };
}

async function pair(
  name: string,
  a: Timed & { dispose(): void },
  b: Timed & { dispose(): void },
  rounds = 7,
) {
  const [ra, rb] = await msPerStepEach([a, b], { rounds, steps: 3, warmup: 2 });
  a.dispose();
  b.dispose();
  return { name, a: ra.ms, b: rb.ms, ratio: rb.ms / ra.ms };
}

const rows: { name: string; a: number; b: number; ratio: number; target: string }[] = [];
console.log(`adapter: ${fallback ? "a fallback (CPU) adapter" : "a GPU"}`);

{
  const one = sparseStep(M, quick ? 4096 : 262_144);
  const four = sparseStep(4 * M, quick ? 4096 : 262_144);
  console.log(`sparse: ${four.windows} windows against ${one.windows}`);
  const r = await pair(
    `sparse ${quick ? "4k" : "262,144"} indices: ${(4 * M).toLocaleString("en")} x 32 (split) / ${
      M / 1e6 | 0
    }M x 32`,
    one,
    four,
  );
  rows.push({ ...r, target: "<= 1.3" });
  // The same table in 4 windows and in one: what the windows cost, apart from the larger table's.
  const whole = sparseStep(M, quick ? 4096 : 262_144);
  const quarters = sparseStep(M, quick ? 4096 : 262_144, M * 32);
  const q = await pair(
    `sparse, same ${M.toLocaleString("en")} x 32 table: 4 windows / 1`,
    whole,
    quarters,
  );
  rows.push({ ...q, target: "(the windows alone)" });
}
{
  const rowsBig = 8 * M;
  const nnz = quick ? 16_384 : 1 << 20;
  const ours = sparseStep(rowsBig, nnz);
  const { indices, values } = sparseData({ rows: rowsBig, width: 32, nnz });
  const js = new JsSparseAdagrad(new Float32Array(rowsBig * 32).fill(0.5), 32, indices, values);
  const contender = { step: () => js.step(), sync: () => Promise.resolve(), dispose() {} };
  console.log(`big sparse: ${ours.windows} windows`);
  const r = await pair(
    `sparse ${nnz.toLocaleString("en")} indices, ${
      8 * M / 1e6 | 0
    }M x 32 (${ours.windows} windows): ours / JS`,
    contender,
    ours,
    5,
  );
  rows.push({ ...r, target: "<= 1.0" });
}
{
  const length = 32 * M; // 128 MiB: one binding
  const split = denseStep(1, 4 * length);
  const apart = denseStep(4, length);
  console.log(`dense: one variable of ${split.windows} windows against ${apart.windows} variables`);
  const r = await pair(
    `dense: 1 variable of 4 bindings / 4 variables, ${(4 * length).toLocaleString("en")} elements`,
    apart,
    split,
    5,
  );
  rows.push({ ...r, target: "<= 1.1" });
}
if (fallback) {
  const tiles = (elements: number) => {
    const s = denseStep(1, quick ? 1 << 16 : 16 << 20);
    return {
      step: () => {
        setTileElements(elements);
        return s.step();
      },
      sync,
      dispose: () => s.dispose(),
    };
  };
  const small = tiles(TILE_ELEMENTS);
  const large = tiles(16384);
  const r = await pair(
    `fallback adapter, 1 x 16M dense: 16,384-element tiles / 4,096`,
    small,
    large,
  );
  setTileElements(null);
  rows.push({ ...r, target: "<= 0.88" });
}
console.log("\n| case | A ms | B ms | B / A | target |\n| --- | ---: | ---: | ---: | --- |");
for (const r of rows) {
  console.log(
    `| ${r.name} | ${r.a.toFixed(2)} | ${r.b.toFixed(2)} | ${r.ratio.toFixed(3)} | ${r.target} |`,
  );
}
device.destroy();
