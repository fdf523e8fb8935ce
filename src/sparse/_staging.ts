// The step-wide side of sparse gradients: the staging buffers every IndexedSlices of a step is
// gathered into, the sort keys and the sort, and the tiles of the raw value rows, which norm
// clipping and the non-finite check read as one more ReductionSource. The per-group side (the
// update of touched rows) lives in UpdateGroup (_step/update_group.ts).
//
// Buffers grow (doubling) only when a step holds more indices, values or variables than any step
// before; an ordinary step writes its small tables and encodes, allocating nothing.
import { COPY_DST, COPY_SRC, STORAGE, UNIFORM } from "../_common/usage.ts";
import type { GpuRange } from "../_common/validate.ts";
import { readFloats } from "../device/_transfer.ts";
import { CachedBindGroup, type Generation } from "../_kernels/cached_bind_group.ts";
import { GrowingBuffer, GrowingTable } from "../_kernels/growing_buffer.ts";
import { type Kernels, REDUCE_TILE_ELEMENTS } from "../_kernels/kernels.ts";
import type { ReductionSource } from "../_kernels/reduction_source.ts";
import { ENTRY_TABLE, SORT_STEP, SPARSE_ENTRY } from "../_kernels/shader_interface.ts";
import { dispatch, tableWords, writeTiles } from "../_kernels/tiles.ts";
import { HalfWidening } from "./_half_widening.ts";
import { RadixSort } from "./_radix_sort.ts";
/** The largest key the sort may use for a row; 0xffffffff pads the sort. */
export const MAX_KEYS = 0xffffffff;

/** One gradient of a step that goes through the staging buffers: an IndexedSlices. */
export interface SparsePart {
  /** The variable's rows and elements per row. */
  rows: number;
  width: number;
  /** Value rows given. */
  nnz: number;
  /** Their row indices. */
  indices: Int32Array | Uint32Array | GpuRange;
  values: Float32Array | GpuRange;
  /** `values` is a GPU range of float16 (widened to float32 in the staging). */
  halfValues?: boolean;
}

/** A part laid out in the staging buffers. */
export interface StagedSlices {
  rows: number;
  width: number;
  nnz: number;
  /** First index in the concatenation (and in the sorted pairs). */
  nnzBase: number;
  /** Key of row 0. */
  rowBase: number;
  /** Element offset of the first value row. */
  valueBase: number;
}

/** The sort's dispatches for `padded` pairs: the first sorts blocks, then (k, j) steps. */
export function sortSchedule(
  padded: number,
  block: number,
): { kind: "block" | "step" | "merge"; k: number; j: number }[] {
  const out: { kind: "block" | "step" | "merge"; k: number; j: number }[] = [
    { kind: "block", k: block, j: block / 2 },
  ];
  for (let k = 2 * block; k <= padded; k *= 2) {
    for (let j = k / 2; j >= block; j /= 2) out.push({ kind: "step", k, j });
    out.push({ kind: "merge", k, j: block / 2 });
  }
  return out;
}

/** The bitonic sort's length: a power of two, at least one block. */
export function paddedLength(total: number, block: number): number {
  return Math.max(block, 2 ** Math.ceil(Math.log2(Math.max(total, 1))));
}

// From this many indices a step is sorted by the radix sort (a few passes over the pairs) rather
// than the bitonic sort (log2(n)^2 / 2 passes, but fewer dispatches for small steps). Both give
// the same order, so the choice never changes a result; tests move it to run both.
let radixMinimum = 1 << 14;

/** Sets the number of indices from which steps use the radix sort; returns the previous one. */
export function setRadixMinimum(indices: number): number {
  const previous = radixMinimum;
  radixMinimum = indices;
  return previous;
}

/** Bytes of the sort's pairs for `nnz` indices (the bitonic sort pads to a power of two). */
export function pairBytes(nnz: number): number {
  return 8 * (nnz >= radixMinimum ? nnz : 2 ** Math.ceil(Math.log2(Math.max(nnz, 1))));
}

export class SparseStaging implements ReductionSource {
  readonly label = "webgpu-adagrad sparse values";
  readonly layout = "scalar";
  /** Out-of-range GPU-side indices skipped so far (one u32, never reallocated). */
  readonly skipped: GPUBuffer;
  readonly #kernels: Kernels;
  readonly #generation: Generation;
  readonly #values: GrowingBuffer;
  readonly #pairs: GrowingBuffer;
  readonly #indices: GrowingBuffer;
  readonly #entries: GrowingTable;
  readonly #valueTiles: GrowingTable;
  /** The bitonic sort's (k, j) per dispatch, at a dynamic offset; made for the longest sort yet. */
  readonly #steps: GrowingBuffer;
  readonly #stepStride: number;
  readonly #keysGroup = new CachedBindGroup();
  readonly #keysGroupOther = new CachedBindGroup();
  readonly #sortGroup = new CachedBindGroup();
  #padded = 0;
  #total = 0;
  #valueTileCount = 0;
  #schedule: ReturnType<typeof sortSchedule> = [];
  /** The bitonic length `#schedule` sorts. */
  #scheduleLength = 0;
  /** The radix sort, made on the first large step; null while steps are sorted bitonically. */
  #radix: RadixSort | null = null;
  #useRadix = false;
  /** Float16 values in GPU buffers, made on the first step that has some. */
  #widening: HalfWidening | null = null;

  constructor(kernels: Kernels, generation: Generation) {
    const device = kernels.device;
    this.#kernels = kernels;
    this.#generation = generation;
    this.#stepStride = Math.max(SORT_STEP.bytes, device.limits.minUniformBufferOffsetAlignment);
    const label = (name: string) => `webgpu-adagrad sparse ${name}`;
    const buffer = (name: string, usage: number) =>
      new GrowingBuffer(device, generation, label(name), usage);
    const table = (name: string) =>
      new GrowingTable(device, generation, label(name), STORAGE | COPY_DST);
    this.#values = buffer("values", STORAGE | COPY_DST);
    this.#pairs = buffer("pairs", STORAGE);
    this.#indices = buffer("indices", STORAGE | COPY_DST);
    this.#steps = buffer("sort steps", UNIFORM | COPY_DST);
    this.#entries = table("entries");
    this.#valueTiles = table("value tiles");
    this.skipped = device.createBuffer({
      label: label("skipped indices"),
      size: 4,
      usage: STORAGE | COPY_SRC | COPY_DST,
    });
  }

  /** The staged value rows (float32), which the sparse updates read. */
  get values(): GPUBuffer {
    return this.#values.buffer;
  }

  /** The sorted (key, position) pairs, which the sparse updates read. */
  get pairs(): GPUBuffer {
    return this.#pairs.buffer;
  }

  get reduceCount(): number {
    return this.#valueTileCount;
  }

  get reduceTiles(): GPUBuffer {
    return this.#valueTiles.buffer;
  }

  get reduceData(): GPUBuffer {
    return this.#values.buffer;
  }

  /**
   * Lays out the step's sparse gradients end to end, grows the buffers if needed, and stages the
   * data: CPU arrays through `queue.writeBuffer`, GPU ranges by copies recorded on `encoder`
   * (before the compute pass that reads them).
   */
  stage(encoder: GPUCommandEncoder, parts: readonly SparsePart[]): StagedSlices[] {
    let nnz = 0;
    let values = 0;
    let keys = 0;
    const staged = parts.map(({ rows, width, nnz: n }) => {
      const s = { rows, width, nnz: n, nnzBase: nnz, rowBase: keys, valueBase: values };
      nnz += n;
      keys += rows + 1;
      values += n * width;
      return s;
    });
    this.#valueTileCount = 0;
    this.#sizeSort(nnz, keys);
    this.#values.ensure(4 * values);
    this.#indices.ensure(4 * nnz);
    this.#entries.ensure(ENTRY_TABLE.words + SPARSE_ENTRY.words * parts.length);
    const device = this.#kernels.device;
    const words = this.#entries.words;
    let count = 0;
    const halves = parts.filter((p) => p.halfValues && p.nnz > 0);
    if (halves.length > 0) this.#widening ??= new HalfWidening(this.#kernels, this.#generation);
    const halfStarts = this.#widening?.plan(halves.map((p) => p.nnz * p.width)) ?? [];
    const put = (
      data: Float32Array | Int32Array | Uint32Array | GpuRange,
      to: GPUBuffer,
      at: number,
    ) => {
      if (ArrayBuffer.isView(data)) {
        device.queue.writeBuffer(to, 4 * at, data as Uint32Array<ArrayBuffer>);
      } else encoder.copyBufferToBuffer(data.buffer, data.offset, to, 4 * at, data.size);
    };
    parts.forEach((part, k) => {
      const s = staged[k];
      if (s.nnz === 0) return;
      if (part.halfValues) {
        const h = halves.indexOf(part);
        const range = part.values as GpuRange;
        this.#widening!.stage(encoder, range, halfStarts[h], s.nnz * s.width, s.valueBase);
      } else put(part.values, this.#values.buffer, s.valueBase);
      const w = ENTRY_TABLE.words + SPARSE_ENTRY.words * count++;
      words[w + SPARSE_ENTRY.at.nnz_base] = s.nnzBase;
      words[w + SPARSE_ENTRY.at.nnz] = s.nnz;
      words[w + SPARSE_ENTRY.at.row_base] = s.rowBase;
      words[w + SPARSE_ENTRY.at.rows] = s.rows;
      put(part.indices, this.#indices.buffer, s.nnzBase);
    });
    this.#widening?.finish();
    words[ENTRY_TABLE.at.count] = count;
    words[ENTRY_TABLE.at.total] = nnz;
    words[ENTRY_TABLE.at.padded] = this.#padded;
    this.#entries.write(ENTRY_TABLE.words + SPARSE_ENTRY.words * count);
    return staged;
  }

  /** Chooses the sort for `nnz` pairs of keys below `keys` and sizes its buffers. */
  #sizeSort(nnz: number, keys: number): void {
    const block = this.#kernels.sortBlock;
    this.#total = nnz;
    this.#useRadix = nnz >= radixMinimum;
    // The radix sort sorts exactly the pairs; the bitonic sort a power of two of them.
    const length = this.#useRadix ? nnz : paddedLength(nnz, block);
    this.#padded = length;
    this.#pairs.ensure(8 * length, true);
    if (this.#useRadix) {
      (this.#radix ??= new RadixSort(this.#kernels, this.#generation)).prepare(nnz, keys);
      return;
    }
    if (this.#schedule.length === 0 || this.#scheduleLength !== length) {
      this.#schedule = sortSchedule(length, block);
      this.#scheduleLength = length;
    }
    const stride = this.#stepStride;
    if (!this.#steps.ensure(stride * this.#schedule.length, true)) return;
    // The schedule of a shorter sort is a prefix of this one, so this table serves every step.
    const words = new Uint32Array(this.#steps.bytes / 4);
    this.#schedule.forEach(({ k, j }, slot) => {
      words[(slot * stride) / 4 + SORT_STEP.at.k] = k;
      words[(slot * stride) / 4 + SORT_STEP.at.j] = j;
    });
    this.#kernels.device.queue.writeBuffer(this.#steps.buffer, 0, words);
  }

  /** Records the widening of float16 values given in GPU buffers, first in the step's pass. */
  encodeWiden(pass: GPUComputePassEncoder): void {
    this.#widening?.encode(pass, this.#values.buffer);
  }

  /** Records the keys and the sort, if the step has any index to sort. */
  encodeSort(pass: GPUComputePassEncoder): void {
    if (this.#total === 0) return;
    const kernels = this.#kernels;
    const max = kernels.maxWorkgroupsPerDimension;
    const pairs = this.#pairs.buffer;
    const radix = this.#useRadix ? this.#radix : null;
    // The radix sort may need the keys in its other buffer, to end its passes in `pairs`.
    const target = radix ? radix.keysTarget(pairs) : pairs;
    const cached = target === pairs ? this.#keysGroup : this.#keysGroupOther;
    const keys = cached.get(
      this.#generation,
      () =>
        kernels.bindGroup("sparseKeys", "webgpu-adagrad sparse keys", [
          this.#entries.buffer,
          this.#indices.buffer,
          target,
          this.skipped,
        ]),
    );
    const threads = kernels.sparseWorkgroupSize;
    dispatch(pass, kernels.sparseKeys, keys, Math.ceil(this.#padded / threads), max);
    if (radix) {
      radix.encode(pass, pairs, this.#entries.buffer);
      return;
    }
    const sort = this.#sortGroup.get(
      this.#generation,
      () =>
        kernels.bindGroup("sort", "webgpu-adagrad bitonic sort", [
          { buffer: this.#steps.buffer, size: SORT_STEP.bytes },
          this.#entries.buffer,
          pairs,
        ]),
    );
    const blocks = this.#padded / kernels.sortBlock;
    this.#schedule.forEach((step, slot) => {
      dispatch(pass, kernels.sort(step.kind), sort, blocks, max, [slot * this.#stepStride]);
    });
  }

  /**
   * Writes the tile table of the raw value rows, for norm clipping and the non-finite check: part
   * k is the step's variable `ids[k]`, its partial sums numbered from `partialBase`.
   */
  writeValueTiles(
    staged: readonly StagedSlices[],
    ids: readonly number[],
    partialBase: number,
  ): void {
    const sources = staged.map((s, k) => ({
      varOffset: 0,
      slotOffset: s.valueBase,
      length: s.nnz * s.width,
      id: ids[k],
    }));
    const words = tableWords(sources, REDUCE_TILE_ELEMENTS);
    this.#valueTiles.ensure(words);
    const table = this.#valueTiles.words;
    this.#valueTileCount = writeTiles(sources, REDUCE_TILE_ELEMENTS, table, partialBase);
    this.#valueTiles.write(words);
  }

  /** Copies the skipped-index count to the CPU. */
  async readSkipped(): Promise<number> {
    const bits = await readFloats(this.#kernels.device, this.skipped, 0, 4);
    return new Uint32Array(bits.buffer)[0];
  }

  destroy(): void {
    for (const b of [this.#values, this.#pairs, this.#indices, this.#steps]) b.destroy();
    this.#entries.destroy();
    this.#valueTiles.destroy();
    this.#radix?.destroy();
    this.#widening?.destroy();
    this.skipped.destroy();
  }
}
