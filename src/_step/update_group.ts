import { CachedBindGroup } from "../_kernels/cached_bind_group.ts";
import { REDUCE_TILE_ELEMENTS, TILE_ELEMENTS } from "../_kernels/kernels.ts";
import { SPARSE_TILE, SPARSE_TILE_TABLE, TILE, TILE_TABLE } from "../_kernels/shader_interface.ts";
import type { StagedSlices } from "../sparse/_staging.ts";
import type { StepBuffers } from "./step_buffers.ts";
import {
  dispatch,
  type StepNumbering,
  tableWords,
  type TileSource,
  writeTiles,
} from "../_kernels/tiles.ts";
import { COPY_DST, COPY_SRC, STORAGE } from "../_common/usage.ts";
import type { Variant } from "./variant.ts";

/** One variable of a group, in elements of the bound buffers. */
export interface GroupMember {
  varOffset: number;
  slotOffset: number;
  length: number;
}

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
  /** The gradients are float16 (a store with `gradDtype: "float16"`; vec4 layouts only). */
  halfGradients?: boolean;
  accumulators: GPUBuffer;
}

/** u32 words of a tile table of `tiles` tiles. */
const tableUsed = (tiles: number) => TILE_TABLE.words + tiles * TILE.words;

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
 * Variables updated by one dispatch: their buffers, bind groups and tile tables. Everything here
 * is created when the group is configured (once for a store arena, again only when an external
 * buffer gains a variable), so a step allocates nothing: it rewrites the tile table only when the
 * step's set of variables changes, and dispatches. Every encode method sets its own pipeline.
 */
export class UpdateGroup {
  readonly shared: StepBuffers;
  readonly label: string;
  members: readonly GroupMember[] = [];
  buffers: GroupBuffers | null = null;
  #tileBuffer: GPUBuffer | null = null;
  #tileWords = new Uint32Array(0);
  #tileCount = 0; // tiles in the GPU table, which covers #lastKey
  // The same variables in tiles of REDUCE_TILE_ELEMENTS, for the passes that only read gradients.
  #reduceBuffer: GPUBuffer | null = null;
  #reduceWords = new Uint32Array(0);
  #reduceCount = 0;
  #lastKey: number[] | null = null;
  #active = false;
  #vec4 = false;
  #half = false;
  #sparseTiles: GPUBuffer | null = null;
  #sparseWords = new Uint32Array(0);
  #sparseCount = 0;
  #sparsePipeline: GPUComputePipeline | null = null;
  readonly #updateGroup = new CachedBindGroup();
  readonly #sumSquaresGroup = new CachedBindGroup();
  readonly #checkGroup = new CachedBindGroup();
  readonly #sparseGroup = new CachedBindGroup();

  constructor(shared: StepBuffers, label: string) {
    this.shared = shared;
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
    // Float16 gradients are read by the vec4 kernels only: a layout that cannot vectorize (a
    // row-wise arena) never reads its dense gradients (the plan refuses them).
    this.#half = buffers.halfGradients ?? false;
    const words = tableWords(members, TILE_ELEMENTS);
    if (!this.#tileBuffer || this.#tileWords.length < words) {
      this.#tileBuffer?.destroy();
      this.#tileBuffer = this.#table("tiles", words);
      this.#tileWords = new Uint32Array(words);
    }
    const reduceWords = tableWords(members, REDUCE_TILE_ELEMENTS);
    if (!this.#reduceBuffer || this.#reduceWords.length < reduceWords) {
      this.#reduceBuffer?.destroy();
      this.#reduceBuffer = this.#table("reduction tiles", reduceWords);
      this.#reduceWords = new Uint32Array(reduceWords);
    }
    this.buffers = buffers;
    this.members = members;
    this.#lastKey = null;
    this.shared.invalidate();
  }

  #table(name: string, words: number): GPUBuffer {
    return this.shared.device.createBuffer({
      label: `${this.label} ${name}`,
      size: 4 * words,
      usage: STORAGE | COPY_DST,
    });
  }

  /**
   * Makes the tile tables cover exactly the members `ids` (ascending), numbered next in
   * `numbering` (their ids among the step's variables, their tiles' partial sums). Writes it to the
   * GPU only when any of that differs from the previous step's.
   */
  setParticipants(ids: readonly number[], numbering: StepNumbering): void {
    const firstVariable = numbering.variables;
    const partialBase = numbering.partials;
    for (const id of ids) numbering.add(this.members[id].length);
    this.#active = ids.length > 0;
    if (!this.#active) return;
    const key = [firstVariable, partialBase, ...ids];
    const last = this.#lastKey;
    if (last && last.length === key.length && last.every((x, i) => x === key[i])) return;
    const sources: TileSource[] = ids.map((id, k) => ({
      ...this.members[id],
      id: firstVariable + k,
    }));
    const queue = this.shared.device.queue;
    this.#tileCount = writeTiles(sources, TILE_ELEMENTS, this.#tileWords, partialBase);
    queue.writeBuffer(this.#tileBuffer!, 0, this.#tileWords, 0, tableUsed(this.#tileCount));
    // Partial sums are numbered by reduction tile (StepNumbering).
    this.#reduceCount = writeTiles(sources, REDUCE_TILE_ELEMENTS, this.#reduceWords, partialBase);
    queue.writeBuffer(this.#reduceBuffer!, 0, this.#reduceWords, 0, tableUsed(this.#reduceCount));
    this.#lastKey = key;
  }

  /** One workgroup per tile of the update table, or of the reduction table. */
  #dispatch(
    pass: GPUComputePassEncoder,
    pipeline: GPUComputePipeline,
    group: GPUBindGroup,
    tiles = this.#tileCount,
  ): void {
    dispatch(pass, pipeline, group, tiles, this.shared.kernels.maxWorkgroupsPerDimension);
  }

  /** Records the non-finite check of this step's gradients. */
  encodeCheck(pass: GPUComputePassEncoder): void {
    if (!this.#active || this.#tileCount === 0) return;
    const guard = this.shared.guard!;
    const group = this.#checkGroup.get(
      this.shared,
      () => guard.checkGroup(this.#reduceBuffer!, this.buffers!.gradients()),
    );
    const kernels = this.shared.kernels;
    const pipeline = this.#half
      ? kernels.guardCheckF16
      : this.#vec4
      ? kernels.guardCheckVec4
      : kernels.guardCheck;
    this.#dispatch(pass, pipeline, group, this.#reduceCount);
  }

  /** Records pass 1 of norm clipping for this group. */
  encodeSumSquares(pass: GPUComputePassEncoder): void {
    if (!this.#active || this.#tileCount === 0) return;
    const { kernels, params, partials, verdict } = this.shared;
    const group = this.#sumSquaresGroup.get(
      this.shared,
      () =>
        kernels.bindGroup("sumSquares", `${this.label} sum of squares`, [
          params,
          this.#reduceBuffer!,
          this.buffers!.gradients(),
          partials!,
          verdict,
        ]),
    );
    const pipeline = this.#half
      ? kernels.sumSquaresVec4F16
      : this.#vec4
      ? kernels.sumSquaresVec4
      : kernels.sumSquares;
    this.#dispatch(pass, pipeline, group, this.#reduceCount);
  }

  /**
   * Records this group's update (scalar or vec4 kernel) if `setParticipants` gave it variables
   * since the last update.
   */
  encodeUpdate(pass: GPUComputePassEncoder): void {
    const active = this.#active;
    this.#active = false;
    if (!active || this.#tileCount === 0) return;
    const { kernels, params, norms, verdict } = this.shared;
    const b = this.buffers!;
    const group = this.#updateGroup.get(this.shared, () =>
      kernels.bindGroup("update", this.label, [
        params,
        this.#tileBuffer!,
        b.variables,
        b.accumulators,
        b.gradients(),
        norms,
        verdict,
      ]));
    const pipeline = this.#half
      ? kernels.updateVec4F16
      : this.#vec4
      ? kernels.updateVec4
      : kernels.update;
    this.#dispatch(pass, pipeline, group);
  }

  /**
   * Writes this step's sparse tiles for `members` (runs of the variant's unit of each sorted
   * block). Grows the tile buffer only past any earlier step's size.
   */
  setSparse(members: readonly SparseMember[], variant: Variant): void {
    const { device, kernels } = this.shared;
    const tilings = members.map((m) => variant.sparseTiling(m.staged, kernels));
    const count = tilings.reduce((n, { unit, length }) => n + Math.ceil(length / unit), 0);
    const words = SPARSE_TILE_TABLE.words + Math.max(count, 1) * SPARSE_TILE.words;
    if (!this.#sparseTiles || this.#sparseWords.length < words) {
      this.#sparseTiles?.destroy();
      const capacity = Math.max(words, 2 * this.#sparseWords.length);
      this.#sparseTiles = device.createBuffer({
        label: `${this.label} sparse tiles`,
        size: 4 * capacity,
        usage: STORAGE | COPY_DST,
      });
      this.#sparseWords = new Uint32Array(capacity);
      this.shared.invalidate();
    }
    const out = this.#sparseWords;
    const at = SPARSE_TILE.at;
    let t = 0;
    members.forEach(({ member, staged, id }, k) => {
      const { unit, length } = tilings[k];
      for (let start = 0; start < length; start += unit) {
        const w = SPARSE_TILE_TABLE.words + t++ * SPARSE_TILE.words;
        out[w + at.var_offset] = member.varOffset;
        out[w + at.slot_offset] = member.slotOffset;
        out[w + at.width] = staged.width;
        out[w + at.variable] = id;
        out[w + at.nnz_base] = staged.nnzBase;
        out[w + at.nnz] = staged.nnz;
        out[w + at.row_base] = staged.rowBase;
        out[w + at.rows] = staged.rows;
        out[w + at.value_base] = staged.valueBase;
        out[w + at.start] = start;
        out[w + at.length] = Math.min(unit, length - start);
        out[w + at.identity] = staged.identity ? 1 : 0;
      }
    });
    out[SPARSE_TILE_TABLE.at.count] = t;
    this.#sparseCount = t;
    this.#sparsePipeline = variant.sparseUpdate(kernels);
    const used = SPARSE_TILE_TABLE.words + t * SPARSE_TILE.words;
    device.queue.writeBuffer(this.#sparseTiles, 0, out, 0, used);
  }

  /** Records the sparse update of the tiles `setSparse` wrote. */
  encodeSparse(pass: GPUComputePassEncoder): void {
    const count = this.#sparseCount;
    this.#sparseCount = 0;
    if (count === 0) return;
    const { kernels, params, norms, verdict, sparse } = this.shared;
    const b = this.buffers!;
    const group = this.#sparseGroup.get(
      this.shared,
      () =>
        kernels.bindGroup("sparseUpdate", `${this.label} sparse`, [
          params,
          this.#sparseTiles!,
          b.variables,
          b.accumulators,
          sparse.values,
          norms,
          verdict,
          sparse.pairs,
        ]),
    );
    dispatch(pass, this.#sparsePipeline!, group, count, kernels.maxWorkgroupsPerDimension);
  }

  destroy(): void {
    this.#tileBuffer?.destroy();
    this.#reduceBuffer?.destroy();
    this.#sparseTiles?.destroy();
  }
}
