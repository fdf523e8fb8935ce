/**
 * A sparse step's cost must follow the rows it touches, not the table's size: 1,000 touched rows
 * of width 64 (with duplicates), indices and values already on the GPU, on tables of 10,000 and
 * 1,000,000 rows. Prints median ms/step and the ratio (issue target: at most 1.5x). Where the
 * largest table does not fit one storage binding, the width is halved for every size.
 *
 *     deno task bench:sparse [--rows 10000,1000000] [--nnz 1000] [--width 64]
 *
 * @module
 */
import { fused } from "./_contenders.ts";
import { benchDevice, msPerStep } from "./_timing.ts";

function option(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : fallback;
}

const tableRows = option("rows", "10000,1000000").split(",").map(Number);
const nnz = Number(option("nnz", "1000"));
const asked = Number(option("width", "64"));
const { device, description } = await benchDevice();
// One variable must fit one storage binding; lavapipe allows 128 MiB, too little for 1M x 64
// floats. Then every size runs at the widest power-of-two width that fits, so the ratio stays fair.
const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
let width = asked;
while (width > 1 && Math.max(...tableRows) * width * 4 > limit) width /= 2;
if (width !== asked) {
  console.log(
    `note: ${Math.max(...tableRows)} rows x ${asked} floats exceed this adapter's binding limit ` +
      `(${limit} bytes); using width ${width} for every table size\n`,
  );
}

// The same sparse contender as bench/bench.ts: indices and values already on the GPU, a tenth of
// the lookups on 20 hot rows.
const results: { rows: number; ms: number }[] = [];
for (const rows of tableRows) {
  const running = fused(device, { name: "", sizes: [], sparse: { rows, width, nnz } });
  results.push({ rows, ms: await msPerStep(device, () => running.step()) });
  running.dispose();
}

const base = results[0].ms;
console.log(`Sparse step, ${nnz} indices x ${width} wide, on ${description}\n`);
console.log("| table rows | ms/step | vs smallest |");
console.log("| ---: | ---: | ---: |");
for (const { rows, ms } of results) {
  console.log(`| ${rows.toLocaleString("en")} | ${ms.toFixed(3)} | ${(ms / base).toFixed(2)}x |`);
}
device.destroy();
