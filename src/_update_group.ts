import { dispatchGrid, TILE_FIELDS, TILE_HEADER_BYTES, tilesFor, writeTiles } from "./_tiles.ts";
import type { TileSource } from "./_tiles.ts";
import type { ClipBuffers } from "./_clipping.ts";
import { type Kernels, TILE_ELEMENTS } from "./_kernels.ts";
import type { SparseBuffers, StagedSlices } from "./_sparse.ts";
import type { GuardBuffers } from "./_guard.ts";
import { COPY_DST, COPY_SRC, STORAGE } from "./_usage.ts";

/** One variable of a group, in elements of the bound buffers. */
export interface GroupMember {
  varOffset: number;
  slotOffset: number;
  length: number;
}

/** u32 words per sparse tile (`SparseTile` in adagrad_sparse.wgsl). */
export const SPARSE_TILE_WORDS = 12;

/** A sparse gradient of this group in a step: which member, and where its data was staged. */
export interface SparseMember {
  member: GroupMember;
  staged: StagedSlices;
  /** Index among the step's variables. */
  id: number;
}

/** The buffers one dispatch binds. */
export interface GroupBuffers {
  variables: GPUBufferBinding;
  /** Called when a dense step first needs it (an arena allocates it then). */
  gradients: () => GPUBuffer;
  accumulators: GPUBuffer;
}

/** A storage buffer whose every float32 is `value`, written through `mappedAtCreation`. */
export function createFilledBuffer(
  device: GPUDevice,
  byteLength: number,
  value: number,
  label: string,
): GPUBuffer {
  const buffer = device.createBuffer({
    label,
    size: byteLength,
    usage: STORAGE | COPY_SRC | COPY_DST,
    mappedAtCreation: value !== 0,
  });
  if (value !== 0) {
    new Float32Array(buffer.getMappedRange()).fill(value);
    buffer.unmap();
  }
  return buffer;
}

/**
 * Variables updated by one dispatch: their buffers, bind groups and tile table. Everything here
 * is created when the group is configured (once for a store arena, again only when an external
 * buffer gains a variable or the step-wide clipping buffers grow), so a step allocates nothing:
 * it rewrites the tile table only when the step's set of variables changes, and dispatches.
 */
export class UpdateGroup {
  readonly device: GPUDevice;
  readonly kernels: Kernels;
  readonly label: string;
  members: readonly GroupMember[] = [];
  buffers: GroupBuffers | null = null;
  readonly #params: GPUBuffer;
  readonly #clip: ClipBuffers;
  #tileBuffer: GPUBuffer | null = null;
  #tileWords = new Uint32Array(0);
  #tileCount = 0; // tiles in the GPU table, which covers #lastKey
  #lastKey: number[] | null = null;
  #active = false;
  #updateGroup: GPUBindGroup | null = null;
  #sumSquaresGroup: GPUBindGroup | null = null;
  #sparseTiles: GPUBuffer | null = null;
  #sparseWords = new Uint32Array(0);
  #sparseCount = 0;
  #sparseGroup: GPUBindGroup | null = null;
  #sparseGeneration = -1;
  #checkGroup: GPUBindGroup | null = null;
  #vec4 = false;

  constructor(
    device: GPUDevice,
    kernels: Kernels,
    params: GPUBuffer,
    clip: ClipBuffers,
    label: string,
  ) {
    this.device = device;
    this.kernels = kernels;
    this.#params = params;
    this.#clip = clip;
    this.label = label;
  }

  /** Tiles of the table written by the last `setParticipants`. */
  get tileCount(): number {
    return this.#tileCount;
  }

  /**
   * (Re)binds buffers and members; sizes the tile table for all members at once. `vectorize`:
   * the bytes after each variable up to the next 16-byte boundary belong to no one (a store
   * arena), so the vec4 kernel may be used when every offset is a multiple of 4 elements.
   */
  configure(buffers: GroupBuffers, members: readonly GroupMember[], vectorize = false): void {
    this.#vec4 = vectorize && members.every((m) => m.varOffset % 4 === 0 && m.slotOffset % 4 === 0);
    const capacity = members.reduce((n, m) => n + tilesFor(m.length, TILE_ELEMENTS), 0);
    const bytes = TILE_HEADER_BYTES + capacity * TILE_FIELDS * 4;
    if (!this.#tileBuffer || this.#tileBuffer.size < bytes) {
      this.#tileBuffer?.destroy();
      this.#tileBuffer = this.device.createBuffer({
        label: `${this.label} tiles`,
        size: bytes,
        usage: STORAGE | COPY_DST,
      });
      this.#tileWords = new Uint32Array(bytes / 4);
    }
    this.buffers = buffers;
    this.members = members;
    this.#lastKey = null;
    this.rebind();
  }

  /** Drops the bind groups (after `configure`, or when the clipping buffers grew). */
  rebind(): void {
    this.#checkGroup = null;
    this.#updateGroup = null;
    this.#sumSquaresGroup = null;
    this.#sparseGroup = null;
  }

  /** The dense bind groups, made on the first dense step after `rebind`. */
  #denseGroups(): [GPUBindGroup, GPUBindGroup] {
    if (!this.#updateGroup || !this.#sumSquaresGroup) {
      const buffers = this.buffers!;
      const tiles = { buffer: this.#tileBuffer! };
      const params = { buffer: this.#params };
      const gradients = { buffer: buffers.gradients() };
      this.#updateGroup = this.device.createBindGroup({
        label: this.label,
        layout: this.kernels.updateLayout,
        entries: [
          { binding: 0, resource: params },
          { binding: 1, resource: tiles },
          { binding: 2, resource: buffers.variables },
          { binding: 3, resource: { buffer: buffers.accumulators } },
          { binding: 4, resource: gradients },
          { binding: 5, resource: { buffer: this.#clip.norms } },
        ],
      });
      this.#sumSquaresGroup = this.device.createBindGroup({
        label: `${this.label} sum of squares`,
        layout: this.kernels.sumSquaresLayout,
        entries: [
          { binding: 0, resource: params },
          { binding: 1, resource: tiles },
          { binding: 2, resource: gradients },
          { binding: 3, resource: { buffer: this.#clip.partials } },
        ],
      });
    }
    return [this.#updateGroup, this.#sumSquaresGroup];
  }

  /**
   * Makes the tile table cover exactly the members `ids` (ascending), numbering them from
   * `firstVariable` among the step's variables, with partial sums from `partialBase`. Writes it to
   * the GPU only when any of that differs from the previous step's.
   */
  setParticipants(ids: readonly number[], firstVariable: number, partialBase: number): void {
    this.#active = ids.length > 0;
    if (!this.#active) return;
    const key = [firstVariable, partialBase, ...ids];
    const last = this.#lastKey;
    if (last && last.length === key.length && last.every((x, i) => x === key[i])) return;
    const sources: TileSource[] = ids.map((id, k) => ({
      ...this.members[id],
      id: firstVariable + k,
    }));
    this.#tileCount = writeTiles(sources, TILE_ELEMENTS, this.#tileWords, partialBase);
    const words = TILE_HEADER_BYTES / 4 + this.#tileCount * TILE_FIELDS;
    this.device.queue.writeBuffer(this.#tileBuffer!, 0, this.#tileWords, 0, words);
    this.#lastKey = key;
  }

  /** Records the non-finite check of this step's gradients (its pipeline is already set). */
  encodeCheck(pass: GPUComputePassEncoder, guard: GuardBuffers): void {
    if (!this.#active || this.#tileCount === 0) return;
    this.#checkGroup ??= guard.checkGroup(this.#tileBuffer!, this.buffers!.gradients());
    pass.setBindGroup(0, this.#checkGroup);
    pass.dispatchWorkgroups(
      ...dispatchGrid(this.#tileCount, this.kernels.maxWorkgroupsPerDimension),
    );
  }

  /** Records pass 1 of norm clipping for this group (its pipeline is already set). */
  encodeSumSquares(pass: GPUComputePassEncoder): void {
    if (!this.#active || this.#tileCount === 0) return;
    pass.setBindGroup(0, this.#denseGroups()[1]);
    pass.dispatchWorkgroups(
      ...dispatchGrid(this.#tileCount, this.kernels.maxWorkgroupsPerDimension),
    );
  }

  /**
   * Records this group's update (scalar or vec4 kernel) if `setParticipants` gave it variables
   * since the last update. Returns the dispatch count.
   */
  encodeUpdate(pass: GPUComputePassEncoder): number {
    const active = this.#active;
    this.#active = false;
    if (!active || this.#tileCount === 0) return 0;
    const [x, y] = dispatchGrid(this.#tileCount, this.kernels.maxWorkgroupsPerDimension);
    pass.setPipeline(this.#vec4 ? this.kernels.updateVec4 : this.kernels.update);
    pass.setBindGroup(0, this.#denseGroups()[0]);
    pass.dispatchWorkgroups(x, y);
    return 1;
  }

  /**
   * Writes this step's sparse tiles for `members` (runs of at most TILE_ELEMENTS elements of each
   * sorted nnz x width block). Grows the tile buffer only past any earlier step's size.
   */
  setSparse(
    members: readonly SparseMember[],
    shared: SparseBuffers,
    rowWise: boolean,
  ): void {
    const kernels = shared.kernels;
    // Element-wise: tiles of TILE_ELEMENTS elements. Row-wise: one row (position) per thread.
    const unit = rowWise ? kernels.workgroupSize : TILE_ELEMENTS;
    const perTile = (m: SparseMember) => rowWise ? m.staged.nnz : m.staged.nnz * m.staged.width;
    let count = 0;
    for (const m of members) count += tilesFor(perTile(m), unit);
    const words = TILE_HEADER_BYTES / 4 + Math.max(count, 1) * SPARSE_TILE_WORDS;
    if (!this.#sparseTiles || this.#sparseWords.length < words) {
      this.#sparseTiles?.destroy();
      const capacity = Math.max(words, 2 * this.#sparseWords.length);
      this.#sparseTiles = this.device.createBuffer({
        label: `${this.label} sparse tiles`,
        size: 4 * capacity,
        usage: STORAGE | COPY_DST,
      });
      this.#sparseWords = new Uint32Array(capacity);
      this.#sparseGroup = null;
    }
    const out = this.#sparseWords;
    let t = 0;
    for (const m of members) {
      const { member, staged, id } = m;
      const { width, rows, nnz, nnzBase, rowBase, valueBase, identity } = staged;
      const length = perTile(m);
      for (let start = 0; start < length; start += unit) {
        out.set(
          [
            member.varOffset,
            member.slotOffset,
            width,
            id,
            nnzBase,
            nnz,
            rowBase,
            rows,
            valueBase,
            start,
            Math.min(unit, length - start),
            identity ? 1 : 0,
          ],
          TILE_HEADER_BYTES / 4 + t++ * SPARSE_TILE_WORDS,
        );
      }
    }
    out[0] = t;
    this.#sparseCount = t;
    this.device.queue.writeBuffer(
      this.#sparseTiles,
      0,
      out,
      0,
      TILE_HEADER_BYTES / 4 + t * SPARSE_TILE_WORDS,
    );
    if (this.#sparseGeneration !== shared.generation) this.#sparseGroup = null;
    this.#sparseGeneration = shared.generation;
    const buffers = this.buffers!;
    this.#sparseGroup ??= this.device.createBindGroup({
      label: `${this.label} sparse`,
      layout: kernels.updateLayout,
      entries: [
        { binding: 0, resource: { buffer: this.#params } },
        { binding: 1, resource: { buffer: this.#sparseTiles! } },
        { binding: 2, resource: buffers.variables },
        { binding: 3, resource: { buffer: buffers.accumulators } },
        { binding: 4, resource: { buffer: shared.values } },
        { binding: 5, resource: { buffer: shared.pairs } },
        { binding: 6, resource: { buffer: this.#clip.norms } },
      ],
    });
  }

  /** Records the sparse update of the tiles `setSparse` wrote (the pipeline is already set). */
  encodeSparse(pass: GPUComputePassEncoder): void {
    const count = this.#sparseCount;
    this.#sparseCount = 0;
    if (count === 0) return;
    pass.setBindGroup(0, this.#sparseGroup!);
    pass.dispatchWorkgroups(...dispatchGrid(count, this.kernels.maxWorkgroupsPerDimension));
  }

  destroy(): void {
    this.#tileBuffer?.destroy();
    this.#sparseTiles?.destroy();
  }
}
