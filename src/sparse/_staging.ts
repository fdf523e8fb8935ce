// The step-wide side of sparse gradients: the staging buffers every IndexedSlices of a step is
// gathered into, the sort keys and the bitonic sort, and the tiles of the raw value rows for norm
// clipping and the non-finite check. The per-group side (the update of touched rows) lives in
// UpdateGroup.
//
// Buffers grow (doubling) only when a step holds more indices, values or variables than any step
// before; an ordinary step writes its small tables and encodes, allocating nothing.
import { CachedBindGroup } from "../_kernels/cached_bind_group.ts";
import { REDUCE_TILE_ELEMENTS } from "../_kernels/kernels.ts";
import { ENTRY_TABLE, SORT_STEP, SPARSE_ENTRY } from "../_kernels/shader_interface.ts";
import { RadixSort } from "./_radix_sort.ts";
import { HalfWidening } from "./_half_widening.ts";
import type { StepBuffers } from "../_step/step_buffers.ts";
import { dispatch, tableWords, writeTiles } from "../_kernels/tiles.ts";
import { readFloats } from "../device/_transfer.ts";
import { COPY_DST, COPY_SRC, STORAGE, UNIFORM } from "../_common/usage.ts";
import type { GpuRange } from "../_common/validate.ts";
/** The largest key the sort may use for a row; 0xffffffff pads the sort. */
export const MAX_KEYS = 0xffffffff;

/**
 * One gradient of a step that goes through the staging buffers: an IndexedSlices, or (for the
 * row-wise optimizer) a dense gradient, whose rows are all touched once, in order, unsorted.
 */
export interface SparsePart {
  /** The variable's rows and elements per row. */
  rows: number;
  width: number;
  /** Value rows given. */
  nnz: number;
  /** Their row indices, or null for a dense gradient (row i is value row i). */
  indices: Int32Array | Uint32Array | GpuRange | null;
  values: Float32Array | GpuRange;
  /** `values` is a GPU range of float16 (widened to float32 in the staging). */
  halfValues?: boolean;
}

/** A part laid out in the staging buffers. */
export interface StagedSlices {
  rows: number;
  width: number;
  nnz: number;
  /** A dense gradient: no indices, not sorted. */
  identity: boolean;
  /** First index in the concatenation (and in the sorted pairs); 0 for a dense gradient. */
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

export class SparseBuffers {
  readonly shared: StepBuffers;
  /** Out-of-range GPU-side indices skipped so far (one u32, never reallocated). */
  readonly skipped: GPUBuffer;
  values!: GPUBuffer;
  pairs!: GPUBuffer;
  #indices!: GPUBuffer;
  #entries!: GPUBuffer;
  #steps!: GPUBuffer;
  #valueTiles: GPUBuffer | null = null;
  #stepStride: number;
  #capacity = { indices: 0, values: 0, pairs: 0, steps: 0, entries: 0, valueTiles: 0 };
  #entryWords = new Uint32Array(0);
  #valueTileWords = new Uint32Array(0);
  readonly #keysGroup = new CachedBindGroup();
  readonly #keysGroupOther = new CachedBindGroup();
  readonly #sortGroup = new CachedBindGroup();
  readonly #sumSquaresGroup = new CachedBindGroup();
  readonly #checkGroup = new CachedBindGroup();
  #padded = 0;
  #total = 0;
  #valueTileCount = 0;
  #schedule: ReturnType<typeof sortSchedule> = [];
  /** The radix sort, made on the first large step; null while steps are sorted bitonically. */
  #radix: RadixSort | null = null;
  #useRadix = false;
  /** Float16 values in GPU buffers, made on the first step that has some. */
  #widening: HalfWidening | null = null;

  constructor(shared: StepBuffers) {
    this.shared = shared;
    const device = shared.device;
    this.#stepStride = Math.max(SORT_STEP.bytes, device.limits.minUniformBufferOffsetAlignment);
    this.skipped = device.createBuffer({
      label: "webgpu-adagrad skipped indices",
      size: 4,
      usage: STORAGE | COPY_SRC | COPY_DST,
    });
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
    const staged = parts.map(({ rows, width, nnz: n, indices }) => {
      const identity = indices === null;
      const s = { rows, width, nnz: n, identity, nnzBase: nnz, rowBase: keys, valueBase: values };
      if (!identity) {
        nnz += n;
        keys += rows + 1;
      } else s.nnzBase = 0;
      values += n * width;
      return s;
    });
    const block = this.shared.kernels.sortBlock;
    this.#total = nnz;
    this.#useRadix = nnz >= radixMinimum;
    // The radix sort sorts exactly the pairs; the bitonic sort a power of two of them.
    const length = this.#useRadix ? nnz : paddedLength(nnz, block);
    if (!this.#useRadix && length !== this.#padded) this.#schedule = sortSchedule(length, block);
    this.#padded = length;
    this.#ensure(nnz, values, length, parts.length);
    if (this.#useRadix) (this.#radix ??= new RadixSort(this.shared)).prepare(nnz, keys);
    const device = this.shared.device;
    const words = this.#entryWords;
    let count = 0;
    const halves = parts.filter((p) => p.halfValues && p.nnz > 0);
    if (halves.length > 0) this.#widening ??= new HalfWidening(this.shared);
    const halfStarts = this.#widening?.plan(halves.map((p) => p.nnz * p.width)) ?? [];
    parts.forEach((part, k) => {
      const s = staged[k];
      if (s.nnz === 0) return;
      const put = (
        data: Float32Array | Int32Array | Uint32Array | GpuRange,
        buffer: GPUBuffer,
        element: number,
      ) => {
        if (ArrayBuffer.isView(data)) {
          device.queue.writeBuffer(buffer, 4 * element, data as Uint32Array<ArrayBuffer>);
        } else encoder.copyBufferToBuffer(data.buffer, data.offset, buffer, 4 * element, data.size);
      };
      if (part.halfValues) {
        const h = halves.indexOf(part);
        const range = part.values as GpuRange;
        this.#widening!.stage(encoder, range, halfStarts[h], s.nnz * s.width, s.valueBase);
      } else put(part.values, this.values, s.valueBase);
      if (part.indices === null) return;
      const w = ENTRY_TABLE.words + SPARSE_ENTRY.words * count++;
      words[w + SPARSE_ENTRY.at.nnz_base] = s.nnzBase;
      words[w + SPARSE_ENTRY.at.nnz] = s.nnz;
      words[w + SPARSE_ENTRY.at.row_base] = s.rowBase;
      words[w + SPARSE_ENTRY.at.rows] = s.rows;
      put(part.indices, this.#indices, s.nnzBase);
    });
    this.#widening?.finish();
    words[ENTRY_TABLE.at.count] = count;
    words[ENTRY_TABLE.at.total] = nnz;
    words[ENTRY_TABLE.at.padded] = this.#padded;
    const used = ENTRY_TABLE.words + SPARSE_ENTRY.words * count;
    device.queue.writeBuffer(this.#entries, 0, words, 0, used);
    return staged;
  }

  /** Records the widening of float16 values given in GPU buffers, first in the step's pass. */
  encodeWiden(pass: GPUComputePassEncoder): void {
    this.#widening?.encode(pass, this.values);
  }

  /** Records the keys and the sort, if the step has any index to sort. */
  encodeSort(pass: GPUComputePassEncoder): void {
    if (this.#total === 0) return;
    const { kernels } = this.shared;
    const max = kernels.maxWorkgroupsPerDimension;
    const radix = this.#useRadix ? this.#radix! : null;
    // The radix sort may need the keys in its other buffer, to end its passes in `pairs`.
    const target = radix ? radix.keysTarget(this.pairs) : this.pairs;
    const cached = target === this.pairs ? this.#keysGroup : this.#keysGroupOther;
    const keys = cached.get(
      this.shared,
      () =>
        kernels.bindGroup("sparseKeys", "webgpu-adagrad sparse keys", [
          this.#entries,
          this.#indices,
          target,
          this.skipped,
        ]),
    );
    const threads = kernels.sparseWorkgroupSize;
    dispatch(pass, kernels.sparseKeys, keys, Math.ceil(this.#padded / threads), max);
    if (radix) {
      radix.encode(pass, this.pairs, this.#entries);
      return;
    }
    const sort = this.#sortGroup.get(
      this.shared,
      () =>
        kernels.bindGroup("sort", "webgpu-adagrad bitonic sort", [
          { buffer: this.#steps, size: SORT_STEP.bytes },
          this.#entries,
          this.pairs,
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
    if (!this.#valueTiles || this.#capacity.valueTiles < words) {
      this.#valueTiles?.destroy();
      const capacity = Math.max(words, 2 * this.#capacity.valueTiles);
      this.#valueTiles = this.#buffer("value tiles", 4 * capacity, STORAGE | COPY_DST);
      this.#capacity.valueTiles = capacity;
      this.#valueTileWords = new Uint32Array(capacity);
      this.shared.invalidate();
    }
    this.#valueTileCount = writeTiles(
      sources,
      REDUCE_TILE_ELEMENTS,
      this.#valueTileWords,
      partialBase,
    );
    this.shared.device.queue.writeBuffer(this.#valueTiles, 0, this.#valueTileWords, 0, words);
  }

  /** Records pass 1 of norm clipping over the value rows. */
  encodeSumSquares(pass: GPUComputePassEncoder): void {
    if (this.#valueTileCount === 0) return;
    const { kernels, params, partials, verdict } = this.shared;
    const group = this.#sumSquaresGroup.get(
      this.shared,
      () =>
        kernels.bindGroup("sumSquares", "webgpu-adagrad sparse sum of squares", [
          params,
          this.#valueTiles!,
          this.values,
          partials!,
          verdict,
        ]),
    );
    const max = kernels.maxWorkgroupsPerDimension;
    dispatch(pass, kernels.sumSquares, group, this.#valueTileCount, max);
  }

  /** Records the non-finite check of the staged values. */
  encodeCheck(pass: GPUComputePassEncoder): void {
    if (this.#valueTileCount === 0) return;
    const { kernels, guard } = this.shared;
    const group = this.#checkGroup.get(
      this.shared,
      () => guard!.checkGroup(this.#valueTiles!, this.values),
    );
    const max = kernels.maxWorkgroupsPerDimension;
    dispatch(pass, kernels.guardCheck, group, this.#valueTileCount, max);
  }

  /** Copies the skipped-index count to the CPU. */
  async readSkipped(): Promise<number> {
    const bits = await readFloats(this.shared.device, this.skipped, 0, 4);
    return new Uint32Array(bits.buffer)[0];
  }

  destroy(): void {
    for (const b of [this.#indices, this.values, this.pairs, this.#entries, this.#steps]) {
      b?.destroy();
    }
    this.#radix?.destroy();
    this.#widening?.destroy();
    this.#valueTiles?.destroy();
    this.skipped.destroy();
  }

  #buffer(label: string, size: number, usage: number): GPUBuffer {
    const device = this.shared.device;
    return device.createBuffer({ label: `webgpu-adagrad sparse ${label}`, size, usage });
  }

  #ensure(indices: number, values: number, padded: number, entries: number): void {
    const c = this.#capacity;
    let grown = false;
    const grow = (need: number, have: number) => Math.max(need, 1, 2 * have);
    if (indices > c.indices) {
      grown = true;
      this.#indices?.destroy();
      c.indices = grow(indices, c.indices);
      this.#indices = this.#buffer("indices", 4 * c.indices, STORAGE | COPY_DST);
    }
    if (values > c.values || !this.values) {
      grown = true;
      this.values?.destroy();
      c.values = grow(values, c.values);
      this.values = this.#buffer("values", 4 * c.values, STORAGE | COPY_DST);
    }
    if (padded > c.pairs) {
      grown = true;
      this.pairs?.destroy();
      c.pairs = padded;
      this.pairs = this.#buffer("pairs", 8 * padded, STORAGE);
    }
    if (!this.#useRadix && padded > c.steps) {
      grown = true;
      this.#steps?.destroy();
      c.steps = padded;
      const schedule = sortSchedule(padded, this.shared.kernels.sortBlock);
      const stride = this.#stepStride;
      this.#steps = this.#buffer("sort steps", stride * schedule.length, UNIFORM | COPY_DST);
      // The schedule of a shorter sort is a prefix of this one, so this table serves every step.
      const words = new Uint32Array((stride * schedule.length) / 4);
      schedule.forEach(({ k, j }, slot) => {
        words[(slot * stride) / 4 + SORT_STEP.at.k] = k;
        words[(slot * stride) / 4 + SORT_STEP.at.j] = j;
      });
      this.shared.device.queue.writeBuffer(this.#steps, 0, words);
    }
    if (entries > c.entries || !this.#entries) {
      grown = true;
      this.#entries?.destroy();
      c.entries = grow(entries, c.entries);
      const words = ENTRY_TABLE.words + SPARSE_ENTRY.words * c.entries;
      this.#entries = this.#buffer("entries", 4 * words, STORAGE | COPY_DST);
      this.#entryWords = new Uint32Array(words);
    }
    if (grown) this.shared.invalidate();
  }
}
