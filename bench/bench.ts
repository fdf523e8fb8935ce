/**
 * Where the package stands, in one run on one adapter: median ms per step of this package
 * (gradients already on the GPU), an unfused baseline (one dispatch and submit per variable),
 * TensorFlow.js's `tf.train.adagrad` on its WebGPU backend, and the copy ceiling (one
 * `copyBufferToBuffer` of the 20 bytes per parameter a dense step moves, 12 read and 8 written). Prints a Markdown table, writes it with an SVG chart of ms/step
 * against the number of variables to `bench/results/` (`.tmp` files, git-ignored, for `--quick`
 * and `--only` runs), and checks the targets as ratios.
 *
 *     deno task bench                  every case (a few minutes on a CPU adapter)
 *     deno task bench --quick          small sizes, to prove the benchmark works (CI)
 *     deno task bench --only 16M       cases whose name contains "16M"
 *
 * @module
 */
import { mkdir, writeFile } from "node:fs/promises";
import process from "node:process";
import {
  type BenchCase,
  copyCeiling,
  countStep,
  fused,
  type Running,
  tfjs,
  unfused,
} from "./_contenders.ts";
import { benchDevice, msPerStep } from "./_timing.ts";
import { lineChart } from "./_chart.ts";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : "";

const { device, description } = await benchDevice();
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
const sparseCase = (rows: number, nnz: number): BenchCase => {
  const width = quick ? 16 : fitWidth(rows);
  const table = rows >= 1e6 ? `${rows / 1e6}M` : `${rows / 1e3}k`;
  return {
    name: `sparse: ${nnz} rows x ${width} of a ${table}-row table`,
    sizes: [],
    sparse: { rows, width, nnz },
  };
};
const CASES: BenchCase[] = quick
  ? [
    { name: "1 x 64k", sizes: [65536] },
    { name: label(10), sizes: many(10) },
    { name: label(100), sizes: many(100) },
    { name: `${label(100)}, clipnorm`, sizes: many(100), clip: { clipnorm: 1 } },
    sparseCase(2_000, 200),
  ]
  : [
    { name: "1 x 1M", sizes: [1 << 20] },
    { name: "1 x 4M", sizes: [4 << 20] },
    { name: "1 x 16M", sizes: [16 << 20] },
    { name: label(10), sizes: many(10) },
    { name: label(100), sizes: many(100) },
    { name: label(1000), sizes: many(1000) },
    { name: `${label(100)}, clipnorm`, sizes: many(100), clip: { clipnorm: 1 } },
    { name: `${label(100)}, globalClipnorm`, sizes: many(100), clip: { globalClipnorm: 1 } },
    sparseCase(10_000, 1_000),
    sparseCase(1_000_000, 1_000),
  ];

interface Measured {
  ms: number;
  dispatches: number;
  submits: number;
}

async function measure(make: () => Running | Promise<Running>): Promise<Measured> {
  const running = await make();
  try {
    const counts = await countStep(running);
    const options = quick ? { warmup: 2, rounds: 3, steps: 3 } : {};
    const ms = await msPerStep(running.device, () => running.step(), {
      ...options,
      sync: () => running.sync(),
    });
    return { ms, dispatches: counts.dispatches, submits: counts.submits };
  } finally {
    running.dispose();
  }
}

interface Row {
  c: BenchCase;
  params: number;
  copy: Measured;
  ours: Measured;
  unfused?: Measured;
  tfjs?: Measured;
}

const rows: Row[] = [];
for (const c of CASES.filter((c) => c.name.includes(only))) {
  const params = c.sparse ? c.sparse.nnz * c.sparse.width : c.sizes.reduce((a, b) => a + b, 0);
  console.error(`${c.name} ...`);
  const row: Row = {
    c,
    params,
    copy: await measure(() => copyCeiling(device, params)),
    ours: await measure(() => fused(device, c)),
  };
  // The unfused baseline has no clipping or sparse path; TF.js has no clipping in its optimizer
  // and no sparse Adagrad (it gets the whole table's dense gradient).
  if (!c.clip && !c.sparse) row.unfused = await measure(() => unfused(device, c));
  if (!c.clip) row.tfjs = await measure(() => tfjs(c));
  rows.push(row);
}

const f = (x: number, digits = 2) => x.toFixed(x >= 100 ? 0 : x >= 10 ? 1 : digits);
const counts = (m?: Measured) => m ? `${m.dispatches} / ${m.submits}` : "-";
const speedup = (m: Measured | undefined, ours: Measured) => m ? `${f(m.ms / ours.ms, 1)}x` : "-";
const date = new Date().toISOString().slice(0, 10);
const lines = [
  `Adagrad step, median ms (lower is better), on **${description}**, ${date}` +
  (quick ? " (quick sizes)" : ""),
  "",
  "| case | params | ms/step | GB/s | of copy ceiling | unfused ms | vs unfused | TF.js ms | vs TF.js | dispatches / submits: ours, unfused, TF.js |",
  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
];
for (const r of rows) {
  const gbs = (20 * r.params) / (r.ours.ms * 1e6);
  const tfName = r.c.sparse && r.tfjs ? " (dense)" : "";
  lines.push(
    `| ${r.c.name} | ${r.params.toLocaleString("en")} | ${f(r.ours.ms, 3)} | ${f(gbs)} | ` +
      `${f((100 * r.copy.ms) / r.ours.ms, 0)}% | ${r.unfused ? f(r.unfused.ms) : "-"} | ` +
      `${speedup(r.unfused, r.ours)} | ${r.tfjs ? f(r.tfjs.ms) + tfName : "-"} | ` +
      `${speedup(r.tfjs, r.ours)} | ${counts(r.ours)}, ${counts(r.unfused)}, ${counts(r.tfjs)} |`,
  );
}
lines.push(
  "",
  "GB/s counts the 20 bytes a dense step moves per parameter (for a sparse step, per touched " +
    "element). The copy ceiling is one `copyBufferToBuffer` of as many bytes. TF.js on a " +
    "sparse case applies the whole table's dense gradient: it has no sparse Adagrad.",
);

// Targets, as ratios of this run.
const find = (name: string) => rows.find((r) => r.c.name === name);
const targets: string[] = [];
const hundred = find(label(100));
if (hundred?.tfjs) {
  const x = hundred.tfjs.ms / hundred.ours.ms;
  targets.push(`- ${x >= 10 ? "met" : "missed"}: >= 10x TF.js at ${label(100)}: ${f(x, 1)}x`);
}
const big = find(quick ? "1 x 64k" : "1 x 16M");
if (big) {
  const share = big.copy.ms / big.ours.ms;
  targets.push(
    `- ${share >= 0.7 ? "met" : "missed"}: >= 70% of the copy ceiling at ${big.c.name}: ` +
      `${f(100 * share, 0)}%`,
  );
}
const byCount = [10, 100, 1000].map((n) => find(label(n))).filter((r) => r !== undefined);
if (byCount.length > 1) {
  const d = byCount.map((r) => r.ours.dispatches);
  targets.push(
    `- ${d.every((x) => x === d[0]) ? "met" : "missed"}: dispatches per step independent of the ` +
      `number of variables: ${byCount.map((r, i) => `${r.c.name}: ${d[i]}`).join(", ")}`,
  );
}
if (targets.length) lines.push("", "Targets:", "", ...targets);
const table = lines.join("\n") + "\n";
console.log(table);

// Results: a Markdown file and the chart, named after the adapter; quick runs as .tmp (ignored).
const slug = description.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
const dir = new URL("results/", import.meta.url);
await mkdir(dir, { recursive: true });
const suffix = quick || only ? ".tmp" : "";
await writeFile(new URL(`${slug}.md${suffix}`, dir), table);
const chartRows = byCount.filter((r) => r.unfused && r.tfjs);
if (chartRows.length > 1) {
  const series = [
    { name: "webgpu-adagrad", color: "#1b7f3b", pick: (r: Row) => r.ours },
    { name: "unfused", color: "#d08000", pick: (r: Row) => r.unfused! },
    { name: "TF.js", color: "#c0392b", pick: (r: Row) => r.tfjs! },
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
device.destroy();
process.exit(0); // TF.js keeps its own device alive
