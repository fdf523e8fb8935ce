/**
 * A/B rows of every choice the dispatch shape makes per adapter (DispatchShape in
 * src/_kernels/kernels.ts), each pair timed in one process with interleaved rounds (timePair), the
 * shape forced before each step: A is a GPU's choice, B a fallback (CPU) adapter's, so B / A under
 * 1 says the fallback's choice is faster on the adapter that ran it.
 *
 * - tiles and lanes: Adagrad's dense step on one variable, 4,096-element tiles with lanes side by
 *   side against 32,768-element tiles with lanes in blocks of 8;
 * - the row kernel: RowWiseAdagrad's dense and sparse steps, a row over 16 lanes against one thread
 *   per row;
 * - the sparse tiles' order: a sparse step into a table of 4 windows, table order against dealt.
 *
 *     scripts/run.sh bench:shapes [--quick]
 *
 * Also a section of `scripts/run.sh gpu-report`.
 *
 * @module
 */
import process from "node:process";
import { requestDevice, RowWiseAdagrad } from "../mod.ts";
import {
  type DispatchShape,
  FALLBACK_SHAPE,
  GPU_SHAPE,
  setDispatchShape,
} from "../src/_kernels/kernels.ts";
import { isFallbackDevice } from "../src/device/_adapter_kind.ts";
import { type BenchCase, fused } from "./_contenders.ts";
import { type Made, timePair } from "./_timing.ts";

const quick = process.argv.includes("--quick");
const device = await requestDevice();
const fallback = isFallbackDevice(device);

/** `c`'s step with `shape` forced before each call. */
/** `made`, each of its steps taken under `shape` (the pair's other side takes its own). */
const underShape = (shape: DispatchShape, made: Made): Made => ({
  step: () => {
    setDispatchShape(shape);
    return made.step();
  },
  sync: made.sync,
  dispose: () => made.dispose(),
});

const shaped = (c: BenchCase, shape: DispatchShape, rowWise = false) => (): Made => {
  const make = () => new RowWiseAdagrad({ learningRate: 0.01 });
  return underShape(shape, fused(device, c, rowWise ? { make } : {}));
};

const n = quick ? 1 << 16 : 4 << 20;
const rows = quick ? 4096 : 65536;
const nnz = quick ? 4096 : 1 << 18;
const table = quick ? 40_000 : 1 << 20;
const rounds = quick ? 3 : 9;
const gpuTiles = { ...FALLBACK_SHAPE, tileElements: GPU_SHAPE.tileElements, laneBlock: 0 };
const result: { choice: string; name: string; a: number; b: number; ratio: number }[] = [];
const row = async (choice: string, name: string, a: () => Made, b: () => Made) => {
  const r = await timePair(name, a, b, rounds);
  result.push({ ...r, choice });
  console.error(`  ${choice}, ${name}: ${r.ratio.toFixed(3)}`);
};

const dense: BenchCase = { name: "", sizes: [n] };
await row(
  "tiles and lanes (A: 4,096, side by side; B: 32,768, blocks of 8)",
  `Adagrad, 1 x ${n.toLocaleString("en")} dense`,
  shaped(dense, gpuTiles),
  shaped(dense, FALLBACK_SHAPE),
);
const rowDense: BenchCase = { name: "", sizes: [rows * 64], width: 64 };
const rowSparse: BenchCase = { name: "", sizes: [], sparse: { rows: rows * 4, width: 64, nnz } };
for (const [label, c] of [["dense", rowDense], ["sparse", rowSparse]] as const) {
  const what = c.sparse
    ? `${nnz.toLocaleString("en")} indices into ${(rows * 4).toLocaleString("en")} x 64`
    : `${rows.toLocaleString("en")} x 64`;
  await row(
    "row kernel (A: a row over 16 lanes; B: one thread per row)",
    `RowWiseAdagrad, ${label}, ${what}`,
    shaped(c, { ...FALLBACK_SHAPE, rowLanes: 16 }, true),
    shaped(c, FALLBACK_SHAPE, true),
  );
}
const split: BenchCase = { name: "", sizes: [], sparse: { rows: table, width: 16, nnz } };
const splitStep = (shape: DispatchShape) => (): Made => {
  // Windows: a quarter of the table's bytes per arena.
  return underShape(
    shape,
    fused(device, split, { store: { maxArenaBytes: (table * 16 * 4) / 4 } }),
  );
};
await row(
  "sparse tiles of a split table (A: table order; B: dealt out)",
  `Adagrad, ${nnz.toLocaleString("en")} indices into ${table.toLocaleString("en")} x 16, 4 windows`,
  splitStep({ ...FALLBACK_SHAPE, dealSparse: false }),
  splitStep(FALLBACK_SHAPE),
);
setDispatchShape(null);

console.log(`adapter: ${fallback ? "a fallback (CPU) adapter" : "a GPU"}`);
console.log("\n| choice | case | A ms | B ms | B / A |\n| --- | --- | ---: | ---: | ---: |");
for (const r of result) {
  console.log(
    `| ${r.choice} | ${r.name} | ${r.a.toFixed(2)} | ${r.b.toFixed(2)} | ${r.ratio.toFixed(3)} |`,
  );
}
device.destroy();
