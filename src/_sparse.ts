// The step-wide side of sparse gradients: the staging buffers every IndexedSlices of a step is
// gathered into, the sort keys and the bitonic sort, and the sums of squares of the raw value rows
// for norm clipping. The per-group side (the update of touched rows) lives in UpdateGroup.
//
// Buffers grow (doubling) only when a step holds more indices, values or variables than any step
// before; an ordinary step writes its small tables and encodes, allocating nothing.
import type { Kernels, SparseKernels } from "./_kernels.ts";
import { TILE_ELEMENTS } from "./_kernels.ts";
import { dispatchGrid, TILE_FIELDS, TILE_HEADER_BYTES, tilesFor, writeTiles } from "./_tiles.ts";
import { readFloats } from "./_transfer.ts";
import { COPY_DST, COPY_SRC, STORAGE, UNIFORM } from "./_usage.ts";
import type { GpuRange } from "./_validate.ts";
import type { GuardBuffers } from "./_guard.ts";

/** u32 words of the entry table header and of each entry (sparse_keys.wgsl). */
const ENTRY_HEADER_WORDS = 4;
const ENTRY_WORDS = 4;
/** Bytes of a sort step in the uniform table (`SortStep`). */
const SORT_STEP_BYTES = 16;
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

/** The sort's length: a power of two, at least one block. */
export function paddedLength(total: number, block: number): number {
  return Math.max(block, 2 ** Math.ceil(Math.log2(Math.max(total, 1))));
}

export class SparseBuffers {
  readonly device: GPUDevice;
  readonly kernels: SparseKernels;
  /** Out-of-range GPU-side indices skipped so far (one u32, never reallocated). */
  readonly skipped: GPUBuffer;
  /** Incremented whenever `values` or `pairs` is reallocated: groups rebuild their bind groups. */
  generation = 0;
  values!: GPUBuffer;
  pairs!: GPUBuffer;
  #indices!: GPUBuffer;
  #entries!: GPUBuffer;
  #steps!: GPUBuffer;
  #normTiles: GPUBuffer | null = null;
  #stepStride: number;
  #capacity = { indices: 0, values: 0, pairs: 0, entries: 0, normTiles: 0 };
  #entryWords = new Uint32Array(0);
  #normWords = new Uint32Array(0);
  #keysGroup: GPUBindGroup | null = null;
  #sortGroup: GPUBindGroup | null = null;
  #sumSquaresGroup: GPUBindGroup | null = null;
  #sumSquaresFor: GPUBuffer | null = null;
  #checkGroup: GPUBindGroup | null = null;
  #padded = 0;
  #total = 0;
  #normTileCount = 0;
  #schedule: ReturnType<typeof sortSchedule> = [];

  constructor(device: GPUDevice, kernels: SparseKernels) {
    this.device = device;
    this.kernels = kernels;
    this.#stepStride = Math.max(SORT_STEP_BYTES, device.limits.minUniformBufferOffsetAlignment);
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
    this.#total = nnz;
    const padded = paddedLength(nnz, this.kernels.block);
    if (padded !== this.#padded) this.#schedule = sortSchedule(padded, this.kernels.block);
    this.#padded = padded;
    this.#ensure(nnz, values, this.#padded, parts.length);
    const device = this.device;
    const words = this.#entryWords;
    let count = 0;
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
      put(part.values, this.values, s.valueBase);
      if (part.indices === null) return;
      words.set([s.nnzBase, s.nnz, s.rowBase, s.rows], ENTRY_HEADER_WORDS + ENTRY_WORDS * count++);
      put(part.indices, this.#indices, s.nnzBase);
    });
    words.set([count, nnz, this.#padded, 0], 0);
    device.queue.writeBuffer(this.#entries, 0, words, 0, ENTRY_HEADER_WORDS + ENTRY_WORDS * count);
    return staged;
  }

  /** Whether the step has any index to sort. */
  get active(): boolean {
    return this.#total > 0;
  }

  /** Records the keys and the sort (the pipelines are set here). */
  encodeSort(pass: GPUComputePassEncoder): void {
    if (!this.active) return;
    const k = this.kernels;
    const max = k.maxWorkgroupsPerDimension;
    this.#keysGroup ??= this.device.createBindGroup({
      label: "webgpu-adagrad sparse keys",
      layout: k.keysLayout,
      entries: [
        { binding: 0, resource: { buffer: this.#entries } },
        { binding: 1, resource: { buffer: this.#indices } },
        { binding: 2, resource: { buffer: this.pairs } },
        { binding: 3, resource: { buffer: this.skipped } },
      ],
    });
    this.#sortGroup ??= this.device.createBindGroup({
      label: "webgpu-adagrad bitonic sort",
      layout: k.sortLayout,
      entries: [
        { binding: 0, resource: { buffer: this.#steps, size: SORT_STEP_BYTES } },
        { binding: 1, resource: { buffer: this.#entries } },
        { binding: 2, resource: { buffer: this.pairs } },
      ],
    });
    pass.setPipeline(k.keys);
    pass.setBindGroup(0, this.#keysGroup);
    pass.dispatchWorkgroups(...dispatchGrid(this.#padded / k.workgroupSize, max));
    const grid = dispatchGrid(this.#padded / k.block, max);
    this.#schedule.forEach((step, slot) => {
      pass.setPipeline(
        step.kind === "block" ? k.sortBlock : step.kind === "merge" ? k.sortMerge : k.sortStep,
      );
      pass.setBindGroup(0, this.#sortGroup!, [slot * this.#stepStride]);
      pass.dispatchWorkgroups(...grid);
    });
  }

  /**
   * Norm clipping: writes the table of per-tile sums of squares over the raw value rows (entry k
   * is the step's variable `firstId + k`, its partials from `partialBase`) and returns each
   * entry's first partial and tile count.
   */
  prepareNorms(
    staged: readonly StagedSlices[],
    firstId: number,
    partialBase: number,
  ): { firsts: number[]; counts: number[]; tiles: number } {
    const firsts: number[] = [];
    const counts: number[] = [];
    let tile = partialBase;
    const sources = staged.map((s, k) => {
      const length = s.nnz * s.width;
      const n = tilesFor(length, TILE_ELEMENTS);
      firsts.push(tile);
      counts.push(n);
      tile += n;
      return { varOffset: 0, slotOffset: s.valueBase, length, id: firstId + k };
    });
    const tiles = tile - partialBase;
    const bytes = TILE_HEADER_BYTES + Math.max(tiles, 1) * TILE_FIELDS * 4;
    if (!this.#normTiles || this.#capacity.normTiles < bytes) {
      this.#normTiles?.destroy();
      const size = Math.max(bytes, 2 * this.#capacity.normTiles);
      this.#normTiles = this.#buffer("norm tiles", size, STORAGE | COPY_DST);
      this.#capacity.normTiles = size;
      this.#normWords = new Uint32Array(size / 4);
      this.#sumSquaresGroup = null;
      this.#checkGroup = null;
    }
    this.#normTileCount = writeTiles(sources, TILE_ELEMENTS, this.#normWords, partialBase);
    const used = TILE_HEADER_BYTES / 4 + this.#normTileCount * TILE_FIELDS;
    this.device.queue.writeBuffer(this.#normTiles, 0, this.#normWords, 0, used);
    return { firsts, counts, tiles };
  }

  /** Records pass 1 of norm clipping over the value rows (the pipeline is already set). */
  encodeSumSquares(
    pass: GPUComputePassEncoder,
    dense: Kernels,
    params: GPUBuffer,
    partials: GPUBuffer,
  ): void {
    if (this.#normTileCount === 0) return;
    if (this.#sumSquaresFor !== partials) this.#sumSquaresGroup = null;
    this.#sumSquaresFor = partials;
    this.#sumSquaresGroup ??= this.device.createBindGroup({
      label: "webgpu-adagrad sparse sum of squares",
      layout: dense.sumSquaresLayout,
      entries: [
        { binding: 0, resource: { buffer: params } },
        { binding: 1, resource: { buffer: this.#normTiles! } },
        { binding: 2, resource: { buffer: this.values } },
        { binding: 3, resource: { buffer: this.#sumSquaresFor! } },
      ],
    });
    pass.setBindGroup(0, this.#sumSquaresGroup);
    pass.dispatchWorkgroups(...dispatchGrid(this.#normTileCount, dense.maxWorkgroupsPerDimension));
  }

  /** Records the non-finite check of the staged values (the pipeline is already set). */
  encodeCheck(pass: GPUComputePassEncoder, guard: GuardBuffers): void {
    if (this.#normTileCount === 0) return;
    this.#checkGroup ??= guard.checkGroup(this.#normTiles!, this.values);
    pass.setBindGroup(0, this.#checkGroup);
    pass.dispatchWorkgroups(
      ...dispatchGrid(this.#normTileCount, guard.kernels.maxWorkgroupsPerDimension),
    );
  }

  /** Copies the skipped-index count to the CPU. */
  async readSkipped(): Promise<number> {
    const bits = await readFloats(this.device, this.skipped, 0, 4);
    return new Uint32Array(bits.buffer)[0];
  }

  destroy(): void {
    for (const b of [this.#indices, this.values, this.pairs, this.#entries, this.#steps]) {
      b?.destroy();
    }
    this.#normTiles?.destroy();
    this.skipped.destroy();
  }

  #buffer(label: string, size: number, usage: number): GPUBuffer {
    return this.device.createBuffer({ label: `webgpu-adagrad sparse ${label}`, size, usage });
  }

  #ensure(indices: number, values: number, padded: number, entries: number): void {
    const c = this.#capacity;
    const grow = (need: number, have: number) => Math.max(need, 1, 2 * have);
    if (indices > c.indices) {
      this.#indices?.destroy();
      c.indices = grow(indices, c.indices);
      this.#indices = this.#buffer("indices", 4 * c.indices, STORAGE | COPY_DST);
      this.#keysGroup = null;
    }
    if (values > c.values || !this.values) {
      this.values?.destroy();
      c.values = grow(values, c.values);
      this.values = this.#buffer("values", 4 * c.values, STORAGE | COPY_DST);
      this.#sumSquaresGroup = null;
      this.#checkGroup = null;
      this.generation++;
    }
    if (padded > c.pairs) {
      this.pairs?.destroy();
      this.#steps?.destroy();
      c.pairs = padded;
      this.pairs = this.#buffer("pairs", 8 * padded, STORAGE);
      const schedule = sortSchedule(padded, this.kernels.block);
      const stride = this.#stepStride;
      this.#steps = this.#buffer("sort steps", stride * schedule.length, UNIFORM | COPY_DST);
      // The schedule of a shorter sort is a prefix of this one, so this table serves every step.
      const words = new Uint32Array((stride * schedule.length) / 4);
      schedule.forEach(({ k, j }, slot) => words.set([k, j], (slot * stride) / 4));
      this.device.queue.writeBuffer(this.#steps, 0, words);
      this.#keysGroup = null;
      this.#sortGroup = null;
      this.generation++;
    }
    if (entries > c.entries || !this.#entries) {
      this.#entries?.destroy();
      c.entries = grow(entries, c.entries);
      const words = ENTRY_HEADER_WORDS + ENTRY_WORDS * c.entries;
      this.#entries = this.#buffer("entries", 4 * words, STORAGE | COPY_DST);
      this.#entryWords = new Uint32Array(words);
      this.#keysGroup = null;
      this.#sortGroup = null;
    }
  }
}
