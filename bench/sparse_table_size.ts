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
import { Adagrad, IndexedSlices, VariableStore } from "../mod.ts";
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

function upload(data: Float32Array | Uint32Array): GPUBuffer {
  const buffer = device.createBuffer({
    size: data.byteLength,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    mappedAtCreation: true,
  });
  new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(data.buffer));
  buffer.unmap();
  return buffer;
}

const results: { rows: number; ms: number }[] = [];
for (const rows of tableRows) {
  const store = new VariableStore(device);
  const table = store.variable("table", [rows, width], 0.5);
  const opt = new Adagrad({ learningRate: 0.01 });
  // Ids as a skewed batch gives them: a tenth of the lookups hit 20 hot rows.
  const hot = Array.from({ length: 20 }, (_, i) => (i * 7919) % rows);
  const indices = Uint32Array.from(
    { length: nnz },
    (_, i) => i % 10 === 0 ? hot[i % 20] : Math.floor(Math.random() * rows),
  );
  const values = Float32Array.from({ length: nnz * width }, () => Math.random() - 0.5);
  const slices = new IndexedSlices(upload(values), upload(indices), [rows, width]);
  const ms = await msPerStep(device, () => opt.applyGradients([[slices, table]]));
  results.push({ rows, ms });
  opt.destroy();
  store.destroy();
}

const base = results[0].ms;
console.log(`Sparse step, ${nnz} indices x ${width} wide, on ${description}\n`);
console.log("| table rows | ms/step | vs smallest |");
console.log("| ---: | ---: | ---: |");
for (const { rows, ms } of results) {
  console.log(`| ${rows.toLocaleString("en")} | ${ms.toFixed(3)} | ${(ms / base).toFixed(2)}x |`);
}
device.destroy();
