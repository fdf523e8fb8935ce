/**
 * Where the package stands, in one run on one adapter: median ms per step of this package
 * (gradients already on the GPU) against two ceilings that only move the step's bytes (a
 * `copyBufferToBuffer` of the same traffic, and a WGSL kernel with the dense step's loads and
 * stores and no arithmetic) and against three contenders: plain single-threaded JavaScript on the
 * CPU, an unfused WebGPU baseline (one dispatch and submit per variable), and TensorFlow.js's
 * `tf.train.adagrad` on its WebGPU backend. A case's contenders are timed in interleaved rounds,
 * so that a row's ratios hold on a shared machine. Prints Markdown tables, writes them with an
 * SVG chart of ms/step against the number of variables to `bench/results/` (`.tmp` files,
 * git-ignored, for `--quick` and `--only` runs), and checks the targets as ratios (a missed
 * target is printed as such; it does not fail the run).
 *
 *     deno task bench                  every case (a few minutes on a CPU adapter)
 *     deno task bench --quick          small sizes, every contender, to prove it works (CI)
 *     deno task bench --only 16M       cases whose name contains "16M"
 *     deno task bench --only family    the Adagrad family's rows (docs/benchmarks.md)
 *
 * @module
 */
import { mkdir, writeFile } from "node:fs/promises";
import process from "node:process";
import { tfjsModelBench } from "./_tfjs_models.ts";
import {
  type BenchCase,
  countStep,
  fused,
  js,
  type Running,
  sparseData,
  tfjs,
  unfused,
} from "./_contenders.ts";
import {
  copyCeiling,
  DENSE_STEP_BYTES,
  fbgemmSparseBytes,
  sparseStepBytes,
  streamCeiling,
} from "./_ceilings.ts";
import { benchDevice, median, msPerStepEach } from "./_timing.ts";
import { lineChart } from "./_chart.ts";
import { halfGradients, lossScaled } from "./_mixed_precision.ts";
import {
  FAMILY_CONTENDERS,
  FAMILY_ROWS,
  type FamilyRow,
  familyStepBytes,
  RULE_CONTENDERS,
  ruleStep,
} from "./_rules.ts";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : "";

const { device, description, fallback } = await benchDevice();
const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);

const k = quick ? 1_000 : 10_000;
const many = (n: number) => Array.from({ length: n }, () => k);
const label = (n: number) => `${n} x ${quick ? "1k" : "10k"}`;
/** Widest power-of-two row width up to 64 with which `rows` rows fit one binding. */
const fitWidth = (rows: number) => {
  let w = 64;
  while (w > 1 && rows * w * 4 > limit) w /= 2;
  return w;
};
const sparseCase = (rows: number, nnz: number, width = quick ? 16 : fitWidth(rows)): BenchCase => {
  const table = rows >= 1e6 ? `${rows / 1e6}M` : `${rows / 1e3}k`;
  return {
    name: `sparse: ${nnz.toLocaleString("en")} indices, ${table} x ${width} table`,
    sizes: [],
    sparse: { rows, width, nnz },
  };
};
/** The case with Keras's clipnorm or global_clipnorm at 1; its plain case is the one before ", ". */
const clipped = (c: BenchCase, mode: "clipnorm" | "globalClipnorm"): BenchCase => ({
  name: `${c.name}, ${mode}`,
  sizes: c.sizes,
  clip: { [mode]: 1 },
});
const one = (n: number, name: string): BenchCase => ({ name, sizes: [n] });
const big = quick ? one(65536, "1 x 64k") : one(16 << 20, "1 x 16M");
const hundred = { name: label(100), sizes: many(100) };
/** The issue's large sparse step: 1,048,576 indices, with duplicates, into a 1M x 16 table. */
const bigSparse = quick ? sparseCase(16_000, 16_384) : sparseCase(1_000_000, 1 << 20, 16);
const CASES: BenchCase[] = quick
  ? [
    big,
    clipped(big, "clipnorm"),
    clipped(big, "globalClipnorm"),
    { name: label(10), sizes: many(10) },
    hundred,
    clipped(hundred, "clipnorm"),
    clipped(hundred, "globalClipnorm"),
    sparseCase(2_000, 200),
    bigSparse,
  ]
  : [
    one(1 << 20, "1 x 1M"),
    one(4 << 20, "1 x 4M"),
    big,
    clipped(big, "clipnorm"),
    clipped(big, "globalClipnorm"),
    { name: label(10), sizes: many(10) },
    hundred,
    { name: label(1000), sizes: many(1000) },
    clipped(hundred, "clipnorm"),
    clipped(hundred, "globalClipnorm"),
    sparseCase(10_000, 1_000),
    sparseCase(1_000_000, 1_000),
    bigSparse,
  ];

interface Measured {
  ms: number;
  /** Ms per step round by round, in the same sweeps as the case's other contenders. */
  rounds: number[];
  /** Per step, for contenders on the GPU. */
  dispatches?: number;
  submits?: number;
}

type Contender =
  | "ours"
  | "copy"
  | "stream"
  | "js"
  | "unfused"
  | "tfjs"
  | "plain"
  | "half"
  | "scaled"
  | keyof typeof RULE_CONTENDERS
  | keyof typeof FAMILY_CONTENDERS;

/**
 * Sets up the contenders of one case side by side, counts the dispatches and submits of a step
 * of each one on the GPU, then times them all with their rounds interleaved (msPerStepEach), so
 * that a row's ratios come from the same stretch of time on a shared machine.
 */
async function measureCase(
  makers: Partial<Record<Contender, () => Running | Promise<Running>>>,
  options: { rounds?: number; steps?: number; slowRounds?: number } = {},
): Promise<Partial<Record<Contender, Measured>>> {
  const names = Object.keys(makers) as Contender[];
  const running: Running[] = [];
  try {
    for (const name of names) running.push(await makers[name]!());
    const counted: ({ dispatches: number; submits: number } | undefined)[] = [];
    for (const [k, r] of running.entries()) {
      counted.push(names[k] === "js" ? undefined : await countStep(r));
    }
    const times = await msPerStepEach(
      running,
      quick ? { warmup: 2, rounds: 3, steps: 3 } : options,
    );
    return Object.fromEntries(names.map((name, k) => [name, {
      ...times[k],
      dispatches: counted[k]?.dispatches,
      submits: counted[k]?.submits,
    }]));
  } finally {
    for (const r of running) r.dispose();
  }
}

interface Row {
  c: BenchCase;
  /** Parameters updated: the variables' elements, or a sparse step's indices x width. */
  params: number;
  /** Bytes the step must read and write (the copy ceiling moves as many). */
  traffic: number;
  /** A sparse step's distinct rows. */
  distinct?: number;
  ours: Measured;
  copy: Measured;
  stream?: Measured;
  js: Measured;
  unfused?: Measured;
  tfjs?: Measured;
  /** For a clipped case: it and the plain step of the same shape, timed as a pair. */
  pair?: { clipped: Measured; plain: Measured };
}

const rows: Row[] = [];
for (const c of CASES.filter((c) => c.name.includes(only))) {
  console.error(`${c.name} ...`);
  let params: number, traffic: number, distinct: number | undefined;
  if (c.sparse) {
    distinct = sparseData(c.sparse).distinctRows;
    params = c.sparse.nnz * c.sparse.width;
    traffic = sparseStepBytes(c.sparse.nnz, distinct, c.sparse.width);
  } else {
    params = c.sizes.reduce((a, b) => a + b, 0);
    traffic = DENSE_STEP_BYTES * params;
  }
  // The streaming kernel is the dense step's; the unfused baseline has no clipping or sparse
  // path; TF.js has no clipping in its optimizer and no sparse Adagrad (it gets the whole table's
  // dense gradient).
  const m = await measureCase({
    ours: () => fused(device, c),
    copy: () => copyCeiling(device, traffic),
    ...(c.sparse ? {} : { stream: () => streamCeiling(device, c.sizes) }),
    js: () => js(device, c),
    ...(c.clip || c.sparse ? {} : { unfused: () => unfused(device, c) }),
    ...(c.clip ? {} : { tfjs: () => tfjs(c) }),
  });
  // A clipped case's target is its time over the plain step of its shape: the two are timed as a
  // pair, in more and shorter rounds than a row with the JavaScript contender gets (5 rounds when
  // a contender is slow), which moved this ratio by 10% from run to run.
  const pair = c.clip
    ? await measureCase({
      ours: () => fused(device, c),
      plain: () => fused(device, { ...c, clip: undefined }),
    }, { rounds: 15, steps: 5 })
    : undefined;
  rows.push({
    c,
    params,
    traffic,
    distinct,
    ours: m.ours!,
    copy: m.copy!,
    stream: m.stream,
    js: m.js!,
    unfused: m.unfused,
    tfjs: m.tfjs,
    pair: pair && { clipped: pair.ours!, plain: pair.plain! },
  });
}

// Mixed precision: float16 gradients and a dynamic loss scale against the float32 step of the same
// shape, each row's three timed in the same rounds (as many and as short as a clipped pair's).
interface MixedRow {
  c: BenchCase;
  plain: Measured;
  half: Measured;
  scaled: Measured;
}
const mixedRows: MixedRow[] = [];
for (const c of [big, hundred].filter((c) => c.name.includes(only))) {
  console.error(`${c.name}, mixed precision ...`);
  const m = await measureCase({
    plain: () => fused(device, c),
    half: () => halfGradients(device, c),
    scaled: () => lossScaled(device, c),
  }, { rounds: 15, steps: 5 });
  mixedRows.push({ c, plain: m.plain!, half: m.half!, scaled: m.scaled! });
}

// The other frameworks' rules against the Keras 2 step of the same shape, all in the same rounds
// (as many and as short as a clipped pair's).
interface RulesRow {
  c: BenchCase;
  m: Partial<Record<Contender, Measured>>;
}
const rulesRows: RulesRow[] = [];
for (const c of [hundred].filter((c) => `${c.name}, rules`.includes(only))) {
  console.error(`${c.name}, rules ...`);
  const makers = Object.fromEntries(
    Object.entries(RULE_CONTENDERS).map(([name, make]) => [name, () => ruleStep(device, c, make)]),
  );
  const m = await measureCase({ plain: () => fused(device, c), ...makers }, {
    rounds: 15,
    steps: 5,
  });
  rulesRows.push({ c, m });
}
// The Adagrad family (issue 25): TF's ProximalAdagrad and AdagradDA against Adagrad's step, FBGEMM's
// row-wise options against plain RowWiseAdagrad's, all seven in the same rounds: 25 of 5 steps
// (15 moved a dense ratio by 10% between runs on a loaded 2-core VM) and, for the sparse step,
// slow on a CPU adapter, 15 of about one step (5 moved its ratios by 15%), at 100 variables
// (rows of 16 elements, the sparse table's width, for the row-wise ones) and at the 1M-index
// sparse step.
interface FamilyCaseRow {
  c: BenchCase;
  distinct: number;
  m: Partial<Record<Contender, Measured>>;
}
const familyRows: FamilyCaseRow[] = [];
const familyCases = [{ ...hundred, width: quick ? 8 : 16 }, bigSparse];
for (const c of familyCases.filter((c) => `${c.name}, family`.includes(only))) {
  console.error(`${c.name}, family ...`);
  const makers = Object.fromEntries(
    Object.entries(FAMILY_CONTENDERS).map((
      [name, make],
    ) => [name, () => ruleStep(device, c, make)]),
  );
  const m = await measureCase({ plain: () => fused(device, c), ...makers }, {
    rounds: 25,
    steps: 5,
    slowRounds: 15,
  });
  familyRows.push({ c, distinct: c.sparse ? sparseData(c.sparse).distinctRows : 0, m });
}

/** The optimizer a family row is a ratio to. */
const familyBase = (r: FamilyRow) => r.base === "plain" ? "Adagrad" : "RowWiseAdagrad";
/** A family row's bytes over its base's, on case `c` (the sparse step's distinct rows). */
const familyBytes = (r: FamilyRow, c: BenchCase, distinct: number) =>
  familyStepBytes(c, r.state, distinct) /
  familyStepBytes(c, r.base === "plain" ? "adagrad" : "rowWise", distinct);

/** Each rule's row: its label and its target as a ratio to the Keras 2 step. */
const RULE_ROWS: { name: keyof typeof RULE_CONTENDERS; label: string; target: number }[] = [
  { name: "torch", label: "PyTorch (lr_decay, weight_decay)", target: 1.1 },
  { name: "keras3", label: "Keras 3", target: 1.1 },
  { name: "ema", label: "Keras 3, use_ema", target: 1.25 },
  { name: "accumulate", label: "Keras 3, a call that only accumulates", target: 0.6 },
];

const f = (x: number, digits = 2) => x.toFixed(x >= 100 ? 0 : x >= 10 ? 1 : digits);
const ms = (m?: Measured) => m ? f(m.ms) : "-";
const counts = (m?: Measured) => m ? `${m.dispatches} / ${m.submits}` : "-";
/** How many times as long the other took: x > 1 means this package is faster. */
/**
 * a's time over b's, as the median of their round-by-round ratios: each pair of rounds ran in
 * the same sweep, so a slow stretch of a shared machine falls on both.
 */
const ratio = (a: Measured, b: Measured) => median(a.rounds.map((t, i) => t / b.rounds[i]));
const speedup = (m: Measured | undefined, ours: Measured) => m ? `${f(ratio(m, ours), 1)}x` : "-";
/** The ceiling's time as a share of ours: 100% means as fast as the ceiling. */
const share = (ceiling: Measured | undefined, ours: Measured) =>
  ceiling ? `${f(100 * ratio(ceiling, ours), 1)}%` : "-";
/** Ours over the JavaScript contender's time: below 1 means this package is faster. */
const oursOverJs = (r: Row) => ratio(r.ours, r.js);
const find = (name: string) => rows.find((r) => r.c.name === name);
/** A clipped step's time over the plain step of its shape, timed as a pair. */
const clipRatio = (r: Row) => r.pair ? ratio(r.pair.clipped, r.pair.plain) : undefined;
const date = new Date().toISOString().slice(0, 10);
const cores = navigator.hardwareConcurrency;
// The runtime's WebGPU and the time a step's promise takes differ between runtimes (docs/guide.md,
// "Timing a training loop"), so the tables name the one they ran on.
const adapter =
  (fallback
    ? `${description}, a fallback (software) adapter running on the CPU's ${cores} cores`
    : description) + `; Deno ${Deno.version.deno}`;
const dense = rows.filter((r) => !r.c.sparse);
const sparse = rows.filter((r) => r.c.sparse);
const lines = [
  `Adagrad step, median ms (lower is better), on **${adapter}**, ${date}` +
  (quick ? " (quick sizes)" : ""),
];
if (dense.length) {
  lines.push(
    "",
    "Dense steps against the ceilings:",
    "",
    "| case | params | ms/step | GB/s | copy ceiling ms | of copy ceiling | stream ceiling ms | of stream ceiling | clipped / plain |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const r of dense) {
    const gbs = r.traffic / (r.ours.ms * 1e6);
    const clip = clipRatio(r);
    lines.push(
      `| ${r.c.name} | ${r.params.toLocaleString("en")} | ${f(r.ours.ms, 3)} | ${f(gbs)} | ` +
        `${ms(r.copy)} | ${share(r.copy, r.ours)} | ${ms(r.stream)} | ` +
        `${share(r.stream, r.ours)} | ${clip === undefined ? "-" : `${f(clip)}x`} |`,
    );
  }
  lines.push(
    "",
    "Dense steps against other implementations:",
    "",
    "| case | ms/step | JS ms | ours / JS | unfused ms | vs unfused | TF.js ms | vs TF.js | dispatches / submits: ours, unfused, TF.js |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  );
  for (const r of dense) {
    lines.push(
      `| ${r.c.name} | ${f(r.ours.ms, 3)} | ${ms(r.js)} | ${f(oursOverJs(r), 3)} | ` +
        `${ms(r.unfused)} | ${speedup(r.unfused, r.ours)} | ${ms(r.tfjs)} | ` +
        `${speedup(r.tfjs, r.ours)} | ${counts(r.ours)}, ${counts(r.unfused)}, ${counts(r.tfjs)} |`,
    );
  }
}
if (sparse.length) {
  lines.push(
    "",
    "Sparse steps (IndexedSlices; indices and values already on the GPU):",
    "",
    "| case | distinct rows | ms/step | M indices/s | GB/s (FBGEMM) | copy ceiling ms | of copy ceiling | JS ms | ours / JS | TF.js ms (dense) | vs TF.js | dispatches / submits: ours, TF.js |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  );
  for (const r of sparse) {
    const { nnz, width } = r.c.sparse!;
    const indicesPerS = nnz / (r.ours.ms * 1e3);
    const gbs = fbgemmSparseBytes(nnz, width) / (r.ours.ms * 1e6);
    lines.push(
      `| ${r.c.name} | ${r.distinct!.toLocaleString("en")} | ${f(r.ours.ms, 3)} | ` +
        `${f(indicesPerS)} | ${f(gbs)} | ${ms(r.copy)} | ${share(r.copy, r.ours)} | ` +
        `${ms(r.js)} | ${f(oursOverJs(r), 3)} | ${ms(r.tfjs)} | ${speedup(r.tfjs, r.ours)} | ` +
        `${counts(r.ours)}, ${counts(r.tfjs)} |`,
    );
  }
}
if (mixedRows.length) {
  lines.push(
    "",
    'Mixed precision (dense, gradients in place): float16 gradients (`gradDtype: "float16"`, ' +
      "18 bytes per parameter instead of 20) and a dynamic `LossScaleOptimizer` given gradients " +
      "of the scaled loss, against the float32 step of the same shape, in the same rounds:",
    "",
    "| case | float32 ms | float16 grads ms | float32 / float16 | loss-scaled ms | loss-scaled / plain | dispatches / submits: plain, float16, loss-scaled |",
    "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
  );
  for (const r of mixedRows) {
    lines.push(
      `| ${r.c.name} | ${f(r.plain.ms, 3)} | ${f(r.half.ms, 3)} | ${
        f(ratio(r.plain, r.half))
      }x | ` +
        `${f(r.scaled.ms, 3)} | ${f(ratio(r.scaled, r.plain))}x | ${counts(r.plain)}, ` +
        `${counts(r.half)}, ${counts(r.scaled)} |`,
    );
  }
}
if (rulesRows.length) {
  lines.push(
    "",
    "Other frameworks' rules (dense, gradients in place), each against the Keras 2 step of the " +
      "same shape, in the same rounds:",
    "",
    "| case | rule | ms/step | / Keras 2 step | target | dispatches / submits |",
    "| --- | --- | ---: | ---: | ---: | --- |",
  );
  for (const { c, m } of rulesRows) {
    lines.push(`| ${c.name} | Keras 2 | ${f(m.plain!.ms, 3)} | 1.00x | | ${counts(m.plain)} |`);
    for (const r of RULE_ROWS) {
      lines.push(
        `| ${c.name} | ${r.label} | ${f(m[r.name]!.ms, 3)} | ${f(ratio(m[r.name]!, m.plain!))}x ` +
          `| <= ${r.target}x | ${counts(m[r.name])} |`,
      );
    }
  }
}
if (familyRows.length) {
  lines.push(
    "",
    "The Adagrad family, each against the step it extends (Adagrad's for TF's rules, plain " +
      "RowWiseAdagrad's for FBGEMM's options), all in the same rounds; bytes: what each must " +
      "read and write over what its base must, as a ceiling counts them:",
    "",
    "| case | optimizer | ms/step | / base step | base | bytes / base's | target | dispatches / submits |",
    "| --- | --- | ---: | ---: | --- | ---: | ---: | --- |",
  );
  for (const { c, distinct, m } of familyRows) {
    lines.push(
      `| ${c.name} | Adagrad | ${f(m.plain!.ms, 3)} | 1.00x | | 1.00x | | ${counts(m.plain)} |`,
    );
    for (const r of FAMILY_ROWS) {
      const bytes = familyBytes(r, c, distinct);
      lines.push(
        `| ${c.name} | ${r.label} | ${f(m[r.name]!.ms, 3)} | ` +
          `${f(ratio(m[r.name]!, m[r.base]!))}x | ${
            r.base === "plain" ? "Adagrad" : "RowWiseAdagrad"
          } | ` +
          `${f(bytes)}x | ${r.target ? `<= ${r.target}x` : ""} | ${counts(m[r.name])} |`,
      );
    }
  }
}
lines.push(
  "",
  "Ceilings, each timed like a step: the copy ceiling is one `copyBufferToBuffer` of half the " +
    "bytes the step must read and write (a copy reads and writes each byte): 10 bytes per " +
    "parameter for a dense step (which reads 12, gradient, accumulator and variable, and writes " +
    "8); for a sparse step, per index its 4-byte index and its value row, and per distinct row " +
    "its variable and accumulator rows, read and written. The stream ceiling is a WGSL kernel " +
    "with the dense step's loads and stores (vec4, the step's tiles, one dispatch) and one add " +
    "per stored vector in place of Adagrad's arithmetic. 'of ... ceiling' is the ceiling's " +
    "time over ours (100%: as fast as the ceiling). A clipped step is timed against the same " +
    "ceilings as the plain one; 'clipped / plain' is its time over the plain step of the same " +
    "shape, the two timed as a pair in 15 interleaved rounds of 5 steps (the mixed-precision " +
    "rows too). A row's contenders are set up side by side and timed in interleaved rounds " +
    "(ms: the median of 7 rounds, 5 when one is slow); its ratios and shares are medians of " +
    "round-by-round ratios, so that a slow stretch of a shared machine falls on both sides; " +
    "rows are timed one after another.",
  "",
  "GB/s counts the 20 bytes a dense step moves per parameter. A sparse step's GB/s is FBGEMM's " +
    "count (SparseAdagradBenchmark): 20 bytes per index and element, duplicates counted each " +
    "time (variable, accumulator and value read; variable and accumulator written), the indices " +
    "not counted; M indices/s counts every index, duplicates included.",
  "",
  "JS is plain single-threaded JavaScript on the CPU (bench/_js_adagrad.ts): Float32Arrays, " +
    "float32 math (Math.fround), the case's clipping; sparse: duplicates summed in the caller's " +
    "order, each touched row updated once; bench/js_contender_check.ts checks that it computes " +
    "what the package computes. 'ours / JS' is our time over its time (below 1: " +
    "ours is faster). 'vs unfused' and 'vs TF.js' are their time over ours. TF.js on a sparse " +
    "case applies the whole table's dense gradient: it has no sparse Adagrad.",
);

// Targets, as ratios of this run. A missed target is reported, not fatal: CI runs --quick.
const targets: string[] = [];
const verdict = (met: boolean) => met ? "met" : "missed";
const tfRow = find(hundred.name);
if (tfRow?.tfjs) {
  const x = ratio(tfRow.tfjs, tfRow.ours);
  targets.push(`- ${verdict(x >= 10)}: >= 10x TF.js at ${hundred.name}: ${f(x, 1)}x`);
}
const bigRow = find(big.name);
if (bigRow?.stream) {
  // The step's kernel against what a WGSL kernel moving the same bytes does on this adapter. The
  // copy ceiling is reported, not a target: no compute kernel reaches a copy on every adapter.
  const x = ratio(bigRow.stream, bigRow.ours);
  const copy = ratio(bigRow.copy, bigRow.ours);
  const streamCopy = ratio(bigRow.copy, bigRow.stream);
  targets.push(
    `- ${verdict(x >= 0.9)}: >= 90% of the stream ceiling at ${big.name}: ${f(100 * x, 0)}% ` +
      `(of the copy ceiling: ${f(100 * copy, 0)}%; the stream ceiling itself reaches ` +
      `${f(100 * streamCopy, 0)}% of it)`,
  );
}
const byCount = [10, 100, 1000].map((n) => find(label(n))).filter((r) => r !== undefined);
if (byCount.length > 1) {
  const d = byCount.map((r) => r.ours.dispatches);
  targets.push(
    `- ${verdict(d.every((x) => x === d[0]))}: dispatches per step independent of the ` +
      `number of variables: ${byCount.map((r, i) => `${r.c.name}: ${d[i]}`).join(", ")}`,
  );
}
const bigSparseRow = find(bigSparse.name);
if (bigSparseRow) {
  const x = oursOverJs(bigSparseRow);
  targets.push(
    `- ${verdict(x <= 1)}: ours / JS <= 1.0 at ${bigSparse.name}: ${f(x, 3)} ` +
      `(${f(bigSparseRow.ours.ms)} ms against ${f(bigSparseRow.js.ms)} ms)`,
  );
}
for (const r of rows.filter((r) => r.c.clip)) {
  const x = clipRatio(r);
  if (x !== undefined) {
    targets.push(`- ${verdict(x <= 1.3)}: <= 1.3x the plain step at ${r.c.name}: ${f(x)}x`);
  }
}
const bigMixed = mixedRows.find((r) => r.c === big);
if (bigMixed) {
  const x = ratio(bigMixed.plain, bigMixed.half);
  targets.push(
    `- ${verdict(x >= 1.08)}: float16 gradients >= 1.08x the float32 step at ${big.name} ` +
      `(the bytes allow 1.11x): ${f(x)}x`,
  );
}
for (const r of mixedRows) {
  const x = ratio(r.scaled, r.plain);
  targets.push(
    `- ${verdict(x <= 1.1)}: loss scaling <= 1.1x the plain step at ${r.c.name}: ${f(x)}x`,
  );
}
for (const { c, m } of rulesRows) {
  for (const r of RULE_ROWS) {
    const x = ratio(m[r.name]!, m.plain!);
    targets.push(
      `- ${verdict(x <= r.target)}: ${r.label} <= ${r.target}x the Keras 2 step at ${c.name}: ${
        f(x)
      }x`,
    );
  }
}
for (const { c, distinct, m } of familyRows) {
  for (const r of FAMILY_ROWS.filter((r) => r.target !== undefined)) {
    const x = ratio(m[r.name]!, m[r.base]!);
    targets.push(
      `- ${verdict(x <= r.target!)}: ${r.label} <= ${r.target}x ${familyBase(r)}'s step at ` +
        `${c.name}: ${f(x)}x (bytes: ${f(familyBytes(r, c, distinct))}x)`,
    );
  }
}
if (targets.length) lines.push("", "Targets:", "", ...targets);
const table = lines.join("\n") + "\n";
console.log(table);

// Results: a Markdown file and the chart, named after the adapter; quick runs as .tmp (ignored).
const slug = description.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
const dir = new URL("results/", import.meta.url);
await mkdir(dir, { recursive: true });
// --scratch (the gpu-report): the committed results stay as they are.
const suffix = quick || only || args.includes("--scratch") ? ".tmp" : "";
await writeFile(new URL(`${slug}.md${suffix}`, dir), table);
const chartRows = byCount.filter((r) => r.unfused && r.tfjs);
if (chartRows.length > 1) {
  const series = [
    { name: "webgpu-adagrad", color: "#1b7f3b", pick: (r: Row) => r.ours },
    { name: "unfused", color: "#d08000", pick: (r: Row) => r.unfused! },
    { name: "TF.js", color: "#c0392b", pick: (r: Row) => r.tfjs! },
    { name: "JS (CPU)", color: "#5b4b8a", pick: (r: Row) => r.js },
  ].map(({ name, color, pick }) => ({
    name,
    color,
    points: chartRows.map((r) => ({ x: r.c.sizes.length, y: pick(r).ms })),
  }));
  const svg = lineChart(
    `Adagrad step, variables of ${quick ? "1k" : "10k"}: ${description}`,
    "variables",
    "ms per step",
    series,
  );
  await writeFile(new URL(`${slug}.svg${suffix}`, dir), svg);
}
console.error(`wrote bench/results/${slug}.md${suffix}`);
// TF.js models trained by TfjsAdagrad and tf.train.adagrad: their own table and results file.
if ("TF.js models".includes(only)) {
  await tfjsModelBench(quick, {
    adapter,
    date,
    file: new URL(`${slug}-tfjs-models.md${suffix}`, dir),
  });
}
device.destroy();
process.exit(0); // TF.js keeps its own device alive
