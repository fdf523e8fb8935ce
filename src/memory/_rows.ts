// Some rows of a 2-D variable to and from the CPU (Variable.readRows and writeRows), at the cost of
// those rows, not of the table: the ids are sorted and cut into runs of consecutive rows, one
// copyBufferToBuffer per run between the variable's windows and staging buffers, one submit, and
// for a read one mapAsync per staging buffer (one for any read under 64 MiB of rows).
//
// The CPU side is float32 whatever the variable holds. When variables get 16-bit dtypes (bfloat16,
// float16; a later issue), readRows keeps returning a Float32Array (widened exactly) and writeRows
// keeps taking one (rounded to the nearest even, as write() will): the staging buffers then hold
// the variable's own bytes, converted on the CPU. copyBufferToBuffer moves whole 4-byte words, so
// a 16-bit row is a whole number of words only for an even width: an odd width (rows sharing a
// word) would read the words around its rows and take its half, and write through a small kernel
// or a read-modify-write of the two rows at each end of a run. Nothing of that exists yet: every
// variable is float32, and a row is `4 * width` bytes.
import { describe } from "../_common/validate.ts";
import { COPY_DST, COPY_SRC, MAP_MODE_READ, MAP_READ } from "../_common/usage.ts";
import { assertDeviceAliveSoon } from "../device/device_lost.ts";

/** Row ids as `readRows` and `writeRows` take them: 32-bit typed arrays or plain numbers. */
export type RowIds = Int32Array | Uint32Array | readonly number[];

/** One window of a variable, in rows: whole rows `[firstRow, firstRow + rows)` at `offset`. */
export interface RowWindow {
  readonly buffer: GPUBuffer;
  readonly offset: number;
  readonly firstRow: number;
  readonly rows: number;
}

/** Largest staging buffer: a larger read or write takes several, each mapped or filled whole. */
export const STAGING_BYTES = 64 << 20;
let stagingBytes = STAGING_BYTES;

/**
 * Sets the largest staging buffer (tests make it a few rows, to reach several buffers cheaply);
 * returns the previous size.
 */
export function setRowStagingBytes(bytes: number): number {
  const previous = stagingBytes;
  stagingBytes = bytes;
  return previous;
}
/**
 * A read copies the rows between two ids of one window too when they take at most this many
 * bytes: one copy instead of two costs less than the bytes it carries (rows of 32 floats: runs
 * 8 rows apart or nearer become one). A write never does: it would write over the rows between.
 */
const READ_GAP_BYTES = 1024;

/**
 * Checks `ids` as IndexedSlices indices are checked (integers in `[0, rows)`) and, for a write,
 * that no id repeats. TypeError for a type, RangeError for a value; nothing is written before.
 */
export function checkRowIds(ids: unknown, rows: number, what: string): RowIds {
  if (ids instanceof Int32Array || ids instanceof Uint32Array) {
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] < 0 || ids[i] >= rows) throw outOfRange(ids[i], i, rows, what);
    }
    return ids;
  }
  if (!Array.isArray(ids)) {
    throw new TypeError(
      `${what}: ids must be an Int32Array, a Uint32Array or an array of integers, got ` +
        describe(ids),
    );
  }
  for (let i = 0; i < ids.length; i++) {
    const id: unknown = ids[i];
    if (typeof id !== "number" || !Number.isInteger(id)) {
      throw new TypeError(`${what}: ids must be integers; ids[${i}] is ${describe(id)}`);
    }
    if (id < 0 || id >= rows) throw outOfRange(id, i, rows, what);
  }
  return ids as readonly number[];
}

function outOfRange(id: number, i: number, rows: number, what: string): RangeError {
  return new RangeError(`${what}: id ${id} at offset ${i} in ids is out of range [0, ${rows})`);
}

/** Checks that `values` is a Float32Array of `count` rows of `width`. */
export function checkRowValues(
  values: unknown,
  count: number,
  width: number,
  what: string,
): Float32Array {
  if (!(values instanceof Float32Array)) {
    throw new TypeError(`${what}: values must be a Float32Array, got ${describe(values)}`);
  }
  if (values.length !== count * width) {
    throw new TypeError(
      `${what}: values hold ${values.length} elements, expected ${count} rows of ${width} ` +
        `(${count * width}) for ${count} ids`,
    );
  }
  return values;
}

/** The ids sorted, each once. */
function sortedUnique(ids: RowIds): Uint32Array {
  const sorted = Uint32Array.from(ids).sort();
  let n = 0;
  for (let i = 0; i < sorted.length; i++) {
    if (i === 0 || sorted[i] !== sorted[n - 1]) sorted[n++] = sorted[i];
  }
  return sorted.subarray(0, n);
}

/**
 * Refuses an id given twice to a write (which of its rows would win is the caller's to say),
 * naming the first repeat and both offsets.
 */
export function checkNoRepeats(ids: RowIds, what: string): void {
  if (sortedUnique(ids).length === ids.length) return;
  const seen = new Map<number, number>();
  for (let i = 0; i < ids.length; i++) {
    const first = seen.get(ids[i]);
    if (first !== undefined) {
      throw new RangeError(
        `${what}: id ${ids[i]} is at offsets ${first} and ${i} in ids; each row is written ` +
          `once (sum or pick its values first)`,
      );
    }
    seen.set(ids[i], i);
  }
}

/**
 * A run of rows `[first, first + count)` of one window, at row `at` of the staging rows (the
 * staging buffers, `chunkRows` rows each, one after the other). Runs never cross a window's edge
 * nor a staging buffer's.
 */
interface Run {
  window: RowWindow;
  first: number;
  count: number;
  at: number;
}

/** The runs covering `sorted` (ascending, distinct), joined across gaps of `gapRows` or fewer. */
function runs(
  sorted: Uint32Array,
  windows: readonly RowWindow[],
  gapRows: number,
  chunkRows: number,
): Run[] {
  const out: Run[] = [];
  let w = 0;
  let run: Run | null = null;
  for (const row of sorted) {
    while (row >= windows[w].firstRow + windows[w].rows) w++;
    const window = windows[w];
    const end = run ? run.first + run.count : 0;
    // Joined when in the same window and staging buffer, and near enough (for a read).
    if (
      run && run.window === window && row - end <= gapRows &&
      Math.floor(run.at / chunkRows) === Math.floor((run.at + row - run.first) / chunkRows)
    ) {
      run.count = row - run.first + 1;
      continue;
    }
    const at: number = run ? run.at + run.count : 0;
    out.push(run = { window, first: row, count: 1, at });
  }
  return out;
}

/** The staging row of each id: `runs` searched by row. */
function stagingRows(ids: RowIds, all: readonly Run[]): Uint32Array {
  const out = new Uint32Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const row = ids[i];
    let lo = 0;
    let hi = all.length - 1;
    while (lo < hi) { // the last run starting at or before `row`
      const mid = (lo + hi + 1) >> 1;
      if (all[mid].first <= row) lo = mid;
      else hi = mid - 1;
    }
    out[i] = all[lo].at + row - all[lo].first;
  }
  return out;
}

/** The plan of a read or a write: its runs, and the staging buffers' sizes in rows. */
interface Plan {
  runs: Run[];
  chunkRows: number;
  chunks: number[];
  /** Staging row of each id, in the ids' order. */
  rowOf: Uint32Array;
}

function plan(ids: RowIds, windows: readonly RowWindow[], width: number, gapBytes: number): Plan {
  const rowBytes = 4 * width;
  const chunkRows = Math.max(1, Math.floor(stagingBytes / rowBytes));
  const all = runs(sortedUnique(ids), windows, Math.floor(gapBytes / rowBytes), chunkRows);
  const last = all[all.length - 1];
  const total = last.at + last.count;
  const chunks = Array.from(
    { length: Math.ceil(total / chunkRows) },
    (_, k) => Math.min(chunkRows, total - k * chunkRows),
  );
  return { runs: all, chunkRows, chunks, rowOf: stagingRows(ids, all) };
}

/** Records one copy per run between the windows and the staging buffers. */
function recordCopies(
  encoder: GPUCommandEncoder,
  { runs: all, chunkRows }: Plan,
  staging: readonly GPUBuffer[],
  width: number,
  toStaging: boolean,
): void {
  const rowBytes = 4 * width;
  for (const { window, first, count, at } of all) {
    const source = window.offset + (first - window.firstRow) * rowBytes;
    const chunk = staging[Math.floor(at / chunkRows)];
    const position = (at % chunkRows) * rowBytes;
    if (toStaging) {
      encoder.copyBufferToBuffer(window.buffer, source, chunk, position, count * rowBytes);
    } else encoder.copyBufferToBuffer(chunk, position, window.buffer, source, count * rowBytes);
  }
}

/**
 * Rows `ids` (checked) of a variable of `width` columns cut into `windows`, in the ids' order:
 * only their runs are copied, into staging buffers mapped once each.
 */
export async function readRows(
  device: GPUDevice,
  windows: readonly RowWindow[],
  width: number,
  ids: RowIds,
): Promise<Float32Array> {
  const out = new Float32Array(ids.length * width);
  if (ids.length === 0) return out;
  const p = plan(ids, windows, width, READ_GAP_BYTES);
  const staging = p.chunks.map((rows, k) =>
    device.createBuffer({
      label: `webgpu-adagrad rows readback ${k}`,
      size: rows * 4 * width,
      usage: MAP_READ | COPY_DST,
    })
  );
  try {
    const encoder = device.createCommandEncoder({ label: "webgpu-adagrad readRows" });
    recordCopies(encoder, p, staging, width, true);
    device.queue.submit([encoder.finish()]);
    await Promise.all(staging.map((b) => b.mapAsync(MAP_MODE_READ)));
    const views = staging.map((b) => new Float32Array(b.getMappedRange()));
    for (let i = 0; i < ids.length; i++) {
      const at = p.rowOf[i];
      const view = views[Math.floor(at / p.chunkRows)];
      const from = (at % p.chunkRows) * width;
      for (let k = 0; k < width; k++) out[i * width + k] = view[from + k];
    }
    return out;
  } catch (e) {
    await assertDeviceAliveSoon(device, "readRows"); // a lost device is the likely cause: say so
    throw e;
  } finally {
    for (const b of staging) b.destroy();
  }
}

/**
 * Writes `values` (checked: `ids.length` rows of `width`) into rows `ids` (checked, distinct),
 * queued in order with submitted steps: the rows go into staging buffers written at creation,
 * then one copy per run of consecutive ids into the windows, in one submit.
 */
export function writeRows(
  device: GPUDevice,
  windows: readonly RowWindow[],
  width: number,
  ids: RowIds,
  values: Float32Array,
): void {
  if (ids.length === 0) return;
  const p = plan(ids, windows, width, 0);
  const staging = p.chunks.map((rows, k) =>
    device.createBuffer({
      label: `webgpu-adagrad rows upload ${k}`,
      size: rows * 4 * width,
      usage: COPY_SRC,
      mappedAtCreation: true,
    })
  );
  try {
    const views = staging.map((b) => new Float32Array(b.getMappedRange()));
    for (let i = 0; i < ids.length; i++) {
      const at = p.rowOf[i];
      const view = views[Math.floor(at / p.chunkRows)];
      view.set(values.subarray(i * width, (i + 1) * width), (at % p.chunkRows) * width);
    }
    for (const b of staging) b.unmap();
    const encoder = device.createCommandEncoder({ label: "webgpu-adagrad writeRows" });
    recordCopies(encoder, p, staging, width, false);
    device.queue.submit([encoder.finish()]);
  } finally {
    // Freed once the submitted copies are done, as WebGPU defers a used buffer's destruction.
    for (const b of staging) b.destroy();
  }
}
