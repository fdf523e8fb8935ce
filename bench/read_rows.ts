/**
 * Reading a few rows of a large table (issue 34): `variable.readRows(ids)` of 1,000 random rows of
 * a 3M x 32 table (384 MB; 3 windows on WebGPU's default 128 MiB binding) against `read()` of the
 * whole table, which is what reading them took before. Both median milliseconds over a few calls,
 * on one device, after a warm-up; the rows read are checked against the whole table's. Prints the
 * ratio read() / readRows.
 *
 *     deno task bench:rows [--quick]      (--quick: 300k x 32, cut into 3 windows of 16 MiB)
 *
 * @module
 */
import process from "node:process";
import { requestDevice, VariableStore } from "../mod.ts";
import { median } from "./_timing.ts";

const quick = process.argv.includes("--quick");
const [rows, width, count] = [quick ? 300_000 : 3_000_000, 32, 1000];
const device = await requestDevice(); // WebGPU's default limits: 128 MiB per binding
const store = new VariableStore(device, { maxArenaBytes: quick ? 16 << 20 : undefined });
const init = new Float32Array(rows * width);
for (let i = 0; i < init.length; i++) init[i] = (i % 9973) * 0.25 + 1; // never zero
const table = store.variable("table", [rows, width], init);
store.allocate();
await device.queue.onSubmittedWorkDone();

let seed = 34;
/** `count` random row ids (a new draw each call). */
function randomIds(): Int32Array {
  return Int32Array.from({ length: count }, () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % rows;
  });
}

/** Median milliseconds of `fn` over `rounds` calls, after one call of warm-up. */
async function time(rounds: number, fn: () => Promise<unknown>): Promise<number> {
  await fn();
  const ms: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

// The rows readRows returns are those of the whole table, in the ids' order.
const ids = randomIds();
const [some, all] = [await table.readRows(ids), await table.read()];
ids.forEach((id, i) => {
  for (let k = 0; k < width; k++) {
    if (some[i * width + k] !== all[id * width + k]) throw new Error(`row ${id} differs`);
  }
});

const rowsMs = await time(quick ? 20 : 10, () => table.readRows(randomIds()));
const readMs = await time(3, () => table.read());
const mb = (rows * width * 4 / 1e6).toFixed(0);
console.log(
  `${rows.toLocaleString("en")} x ${width} table (${mb} MB, ${table.windows.length} windows), ` +
    `${count.toLocaleString("en")} random rows\n`,
);
console.log("| read | ms |\n| --- | ---: |");
console.log(`| readRows of ${count.toLocaleString("en")} random ids | ${rowsMs.toFixed(2)} |`);
console.log(`| read() of the whole table | ${readMs.toFixed(1)} |`);
console.log(`\nread() / readRows: ${(readMs / rowsMs).toFixed(1)}x`);
store.destroy();
device.destroy();
