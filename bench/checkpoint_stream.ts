/**
 * Streamed checkpoints of a large table: saves an embedding table of `--mb` MiB (1,024 by
 * default) and its accumulator with saveCheckpointFile, clears them on the GPU, restores them with
 * restoreCheckpointFile and checks every value. Prints MB/s each way and the peak of the JS heap,
 * of external memory (ArrayBuffers) and of the process's RSS above the baseline taken just before
 * each call, sampled every millisecond. The file is twice the table plus a header, so the default
 * one is larger than 2 GiB.
 *
 * The device asks for the adapter's limits, so one variable may be as large as the adapter allows
 * one binding; where that is less than the table (lavapipe: 128 MiB), the table is cut into
 * variables of whole rows of at most that size. On a software adapter the "GPU" memory is the
 * process's own, so RSS includes the staging buffer of one chunk.
 *
 * `--compare` also times the same checkpoint through memory, for contrast: saveCheckpoint then
 * writeFileAtomic, and readFile then restoreCheckpoint (the whole file in one Uint8Array).
 *
 *     deno task bench:checkpoint [--mb 1024] [--chunk-mib 16] [--dir /tmp] [--compare]
 *
 * @module
 */
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import {
  Adagrad,
  requestDevice,
  restoreCheckpoint,
  restoreCheckpointFile,
  saveCheckpoint,
  saveCheckpointFile,
  type Variable,
  VariableStore,
  writeFileAtomic,
} from "../mod.ts";
import { CHUNK_BYTES, setCheckpointChunkBytes } from "../src/checkpoint/_windows.ts";

function option(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : fallback;
}

const MiB = 2 ** 20;
const tableBytes = Number(option("mb", "1024")) * MiB;
const chunk = Number(option("chunk-mib", String(CHUNK_BYTES / MiB))) * MiB;
const compare = Deno.args.includes("--compare");
const path = `${option("dir", tmpdir())}/webgpu-adagrad-bench-${Date.now()}.safetensors`;
setCheckpointChunkBytes(chunk);

const device = await requestDevice({ limits: "adapter" });
const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
const width = 64;
const rowsPerVariable = Math.floor(limit / (4 * width));
const rows = Math.round(tableBytes / (4 * width));
const store = new VariableStore(device);
const opt = new Adagrad({ learningRate: 0.01, device });
const vars: Variable[] = [];
for (let first = 0, i = 0; first < rows; first += rowsPerVariable, i++) {
  const n = Math.min(rowsPerVariable, rows - first);
  vars.push(store.variable(`emb/table/part_${i}`, [n, width], i + 0.5));
}
for (const [i, v] of vars.entries()) opt.addSlot(v, "accumulator", 100 + i);
// Initial values wait in the runtime's staging until a submit (wgpu): send them now, so that the
// first save does not pay for the model's upload.
device.queue.submit([]);
await device.queue.onSubmittedWorkDone();

/** Clears every variable and accumulator on the GPU, so that the restore has to write them. */
async function clear(): Promise<void> {
  const encoder = device.createCommandEncoder();
  for (const v of vars) {
    encoder.clearBuffer(v.buffer, v.offset, v.size);
    const acc = opt.getSlot(v, "accumulator").region;
    encoder.clearBuffer(acc.buffer, acc.offset, acc.size);
  }
  device.queue.submit([encoder.finish()]);
  await device.queue.onSubmittedWorkDone();
}

/** Each variable and accumulator holds its own value again, every element. */
async function check(): Promise<void> {
  for (const [i, v] of vars.entries()) {
    const values = await v.read();
    const acc = await opt.getSlot(v, "accumulator").read();
    if (!values.every((x) => x === i + 0.5) || !acc.every((x) => x === 100 + i)) {
      throw new Error(`${v.name} or its accumulator did not come back whole`);
    }
  }
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Seconds `fn` took, and the peaks above the memory in use when it started. */
async function measure(fn: () => Promise<void>) {
  gc?.();
  const base = Deno.memoryUsage();
  const peak = { ...base };
  const sample = () => {
    const now = Deno.memoryUsage();
    peak.heapUsed = Math.max(peak.heapUsed, now.heapUsed);
    peak.external = Math.max(peak.external, now.external);
    peak.rss = Math.max(peak.rss, now.rss);
  };
  const timer = setInterval(sample, 1);
  const t0 = performance.now();
  await fn();
  const seconds = (performance.now() - t0) / 1000;
  sample();
  clearInterval(timer);
  return {
    seconds,
    heap: peak.heapUsed - base.heapUsed,
    external: peak.external - base.external,
    rss: peak.rss - base.rss,
  };
}

const targets = { variables: vars, optimizer: opt };
const mib = (bytes: number) => (bytes / MiB).toFixed(1);
try {
  const rowsOf: [string, Awaited<ReturnType<typeof measure>>][] = [];
  rowsOf.push(["saveCheckpointFile", await measure(() => saveCheckpointFile(path, targets))]);
  const fileBytes = (await Deno.stat(path)).size;
  await clear();
  rowsOf.push(["restoreCheckpointFile", await measure(() => restoreCheckpointFile(path, targets))]);
  await check();
  if (compare) {
    rowsOf.push([
      "saveCheckpoint + writeFileAtomic",
      await measure(async () => await writeFileAtomic(path, await saveCheckpoint(targets))),
    ]);
    await clear();
    rowsOf.push([
      "readFile + restoreCheckpoint",
      await measure(async () => restoreCheckpoint(await Deno.readFile(path), targets)),
    ]);
    await device.queue.onSubmittedWorkDone();
    await check();
  }
  const info = (await navigator.gpu.requestAdapter())?.info;
  console.log(
    `\n${vars.length} variables of up to ${mib(rowsPerVariable * width * 4)} MiB ` +
      `(${mib(tableBytes)} MiB table, ${rows.toLocaleString("en")} x ${width}) and their ` +
      `accumulators; file ${mib(fileBytes)} MiB (${(fileBytes / 2 ** 30).toFixed(2)} GiB); chunk ` +
      `${mib(chunk)} MiB; ${info?.description || info?.vendor || "unknown adapter"}; Deno ` +
      `${Deno.version.deno}\n`,
  );
  console.log("| call | s | MB/s | peak heap | peak external | peak RSS |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
  for (const [name, m] of rowsOf) {
    console.log(
      `| ${name} | ${m.seconds.toFixed(2)} | ${(fileBytes / 1e6 / m.seconds).toFixed(0)} | ` +
        `+${mib(m.heap)} MiB | +${mib(m.external)} MiB | +${mib(m.rss)} MiB |`,
    );
  }
  console.log("\n(every value checked after the restore; peaks above the baseline of each call)");
} finally {
  await rm(path, { force: true });
  opt.destroy();
  store.destroy();
  device.destroy();
}
