// Variables updated by one dispatch (a store arena, or the variables in one caller buffer): their
// buffers, bind groups and tile tables. Everything is created when the group is configured (once
// for a store arena, again only when a caller buffer gains a variable), so a step allocates
// nothing: it rewrites the tile tables only when the step's set of variables changes, and
// dispatches. A group is also a ReductionSource: the reduction passes read its gradients through
// its table of reduction tiles.
import { COPY_DST, STORAGE } from "../_common/usage.ts";
import { CachedBindGroup, type Generation } from "../_kernels/cached_bind_group.ts";
import { GrowingTable } from "../_kernels/growing_buffer.ts";
import { type Kernels, REDUCE_TILE_ELEMENTS } from "../_kernels/kernels.ts";
import type { ReductionSource } from "../_kernels/reduction_source.ts";
import { finishSparseTable, sparseTableWords, writeSparseTiles } from "../_kernels/sparse_tiles.ts";
import { type GradientLayout, Phase } from "../_kernels/specialisation.ts";
import {
  dealtOrder,
  dispatch,
  type StepNumbering,
  tableUsed,
  tableWords,
  type TileSource,
  writeTiles,
} from "../_kernels/tiles.ts";
import type { StagedSlices } from "../sparse/_staging.ts";
import type { Variant } from "./variant.ts";
import {
  type DenseUpdate,
  denseUpdateFor,
  type GroupBuffers,
  type UpdateInputs,
} from "./dense_update.ts";

export type { GroupBuffers, UpdateInputs };

/** One variable of a group, in elements of the bound buffers. */
export interface GroupMember {
  varOffset: number;
  slotOffset: number;
  length: number;
}

/** What a rule says of one variable in a step, written into its tiles (`Tile.decay`, `.lag`). */
export interface VariableTerms {
  /** 1 when weight decay applies to the variable. */
  decay: number;
  /** The optimizer's steps in which the variable had no gradient (a rule with variableSteps). */
  lag: number;
}

/** A sparse gradient of this group in a step: which member, and where its data was staged. */
export interface SparseMember {
  member: GroupMember;
  staged: StagedSlices;
  /** Index among the step's variables. */
  id: number;
  /** As VariableTerms's. */
  lag: number;
  /** The member is a window of a variable past one binding: only the tiles of its rows work. */
  window?: boolean;
}

/** Where the step staged its sparse gradients. */
export interface StagedBuffers {
  values: GPUBuffer;
  pairs: GPUBuffer;
}

export class UpdateGroup implements ReductionSource {
  readonly label: string;
  members: readonly GroupMember[] = [];
  /** How the kernels load this group's gradients (set by `configure`). */
  layout: GradientLayout = "scalar";
  readonly #kernels: Kernels;
  readonly #generation: Generation;
  #buffers: GroupBuffers | null = null;
  /** How the group applies its dense gradients: by elements or by rows (the variant's). */
  readonly #dense: DenseUpdate;
  #tileCount = 0;
  /** The same variables in tiles of REDUCE_TILE_ELEMENTS, for the passes that only read. */
  readonly #reduce: GrowingTable;
  #reduceCount = 0;
  readonly #sparseTiles: GrowingTable;
  #sparseCount = 0;
  #sparsePipeline: GPUComputePipeline | null = null;
  /** The members, numbering and variables' terms the tile tables were last written for. */
  #lastKey: number[] | null = null;
  #active = false;
  readonly #sparseGroup = new CachedBindGroup();
  #dealtPositions = new Uint32Array(0);
  #dealtCount = -1;

  constructor(kernels: Kernels, generation: Generation, label: string, variant: Variant) {
    this.#kernels = kernels;
    this.#generation = generation;
    this.label = label;
    const table = (name: string) =>
      new GrowingTable(kernels.device, generation, `${label} ${name}`, STORAGE | COPY_DST);
    this.#reduce = table("reduction tiles");
    this.#sparseTiles = table("sparse tiles");
    this.#dense = denseUpdateFor(variant, {
      kernels,
      generation,
      label,
      buffers: () => this.#bound,
      layout: () => this.layout,
      sparseBindGroup: (cache, name, inputs, parts) =>
        this.#sparseBindGroup(cache, name, inputs, parts),
    });
  }

  /**
   * (Re)binds buffers and members; sizes the tile tables for all members at once. `vectorize`:
   * the bytes after each variable up to the next 16-byte boundary belong to no one (a store
   * arena), so the vec4 kernels may be used when every offset is a multiple of 4 elements.
   */
  configure(
    buffers: GroupBuffers,
    members: readonly GroupMember[],
    vectorize = false,
  ): void {
    const vec4 = vectorize && members.every((m) => m.varOffset % 4 === 0 && m.slotOffset % 4 === 0);
    // Float16 gradients are read by the vec4 kernels only: a layout that cannot vectorize (a
    // row-wise arena) never reads dense float16 gradients (the plan refuses them).
    this.layout = buffers.halfGradients ? "vec4_f16" : vec4 ? "vec4" : "scalar";
    this.#dense.reserve(members);
    this.#reduce.ensure(tableWords(members, REDUCE_TILE_ELEMENTS));
    this.#buffers = buffers;
    this.members = members;
    this.#lastKey = null;
    this.#generation.advance(); // the bound buffers may be new
  }

  get #bound(): GroupBuffers {
    if (!this.#buffers) throw new Error(`webgpu-adagrad: ${this.label} used before configure`);
    return this.#buffers;
  }

  /**
   * Makes the tile tables cover exactly the members `ids` (ascending), numbered next in
   * `numbering` (their ids among the step's variables, their tiles' partial sums), with what the
   * rule says of each (`terms[k]` for `ids[k]`). `continues`: the first member is the next piece of
   * the variable numbered last (a variable past one binding). `widths`: elements per row of
   * each, for a row-wise group. Writes the tables to the GPU only when any of that differs from
   * the previous step's.
   */
  setParticipants(
    ids: readonly number[],
    numbering: StepNumbering,
    terms: readonly VariableTerms[] = [],
    continues = false,
    widths: readonly number[] = [],
  ): void {
    const firstVariable = continues ? numbering.variables - 1 : numbering.variables;
    const partialBase = numbering.partials;
    ids.forEach((id, k) => {
      const length = this.members[id].length;
      if (k === 0 && continues) numbering.extend(length);
      else numbering.add(length);
    });
    this.#active = ids.length > 0;
    if (!this.#active) return;
    const key = [
      firstVariable,
      partialBase,
      this.#kernels.tileElements,
      this.#kernels.rowsPerTile,
      ...ids,
      ...terms.flatMap((r) => [r.decay, r.lag]),
      ...(this.#dense.byRows ? widths : []),
    ];
    const last = this.#lastKey;
    if (last && last.length === key.length && last.every((x, i) => x === key[i])) return;
    const sources: TileSource[] = ids.map((id, k) => ({
      ...this.members[id],
      id: firstVariable + k,
      ...terms[k],
    }));
    this.#tileCount = this.#dense.write(sources, widths, partialBase);
    // Partial sums are numbered by reduction tile (StepNumbering), over where the gradients lie.
    const gradients = sources.map((s) => this.#dense.gradientOf(s));
    this.#reduce.ensure(tableWords(gradients, REDUCE_TILE_ELEMENTS));
    this.#reduceCount = writeTiles(
      gradients,
      REDUCE_TILE_ELEMENTS,
      this.#reduce.words,
      partialBase,
    );
    this.#reduce.write(tableUsed(this.#reduceCount));
    this.#lastKey = key;
  }

  /** Reduction tiles of this step's dense gradients (0 when the group has none). */
  get reduceCount(): number {
    return this.#active ? this.#reduceCount : 0;
  }

  get reduceTiles(): GPUBuffer {
    return this.#reduce.buffer;
  }

  get reduceData(): GPUBuffer {
    return this.#bound.gradients();
  }

  /**
   * The same tiles over Keras 3's accumulated mean (the gradient sums after PHASE_MEAN), for the
   * norms of an accumulated update: a source of its own, so that its bind groups are its own.
   */
  readonly meanSource: ReductionSource = new MeanSource(this, () => this.#bound.gradientSums!);

  /**
   * Records this group's dense update (in `phase`, under gradient accumulation) if
   * `setParticipants` gave it variables since the last update; `last` false keeps them for
   * another dispatch of the same step.
   */
  encodeUpdate(
    pass: GPUComputePassEncoder,
    inputs: UpdateInputs,
    phase: Phase = Phase.step,
    last = true,
  ): void {
    const active = this.#active;
    if (last) this.#active = false;
    if (!active || this.#tileCount === 0) return;
    this.#dense.encode(pass, inputs, phase, this.#tileCount);
  }

  /**
   * Writes this step's sparse tiles for `members` (runs of the variant's unit of each sorted
   * block).
   */
  setSparse(members: readonly SparseMember[], variant: Variant): void {
    const kernels = this.#kernels;
    const tilings = members.map((m) => variant.sparseTiling(m.staged, kernels));
    const count = tilings.reduce((n, { unit, length }) => n + Math.ceil(length / unit), 0);
    this.#sparseTiles.ensure(sparseTableWords(count));
    const out = this.#sparseTiles.words;
    // A window's work lies in a run of consecutive tiles: dealt out, every thread of a CPU adapter
    // gets some; a GPU's scheduler takes workgroups as they come, so it keeps table order.
    const deal = kernels.dealSparse && members.some((m) => m.window);
    const dealt = deal ? this.#dealt(count) : null;
    const t = writeSparseTiles(members, tilings, dealt, out);
    this.#sparseCount = t;
    this.#sparsePipeline = kernels.sparseUpdate(variant.sparseKernel);
    this.#sparseTiles.write(finishSparseTable(out, t));
  }

  /** The dealt order of `count` sparse tiles, computed again only when the count changes. */
  #dealt(count: number): Uint32Array {
    if (count !== this.#dealtCount) {
      if (this.#dealtPositions.length < count) this.#dealtPositions = new Uint32Array(2 * count);
      dealtOrder(count, this.#dealtPositions);
      this.#dealtCount = count;
    }
    return this.#dealtPositions;
  }

  /** Records the sparse update of the tiles `setSparse` wrote. */
  encodeSparse(pass: GPUComputePassEncoder, inputs: UpdateInputs, staged: StagedBuffers): void {
    const count = this.#sparseCount;
    this.#sparseCount = 0;
    if (count === 0 || !this.#sparsePipeline) return;
    const kernels = this.#kernels;
    const group = this.#sparseBindGroup(this.#sparseGroup, "sparse", inputs, {
      tiles: this.#sparseTiles.buffer,
      values: staged.values,
      pairs: staged.pairs,
    });
    dispatch(pass, this.#sparsePipeline, group, count, kernels.maxWorkgroupsPerDimension);
  }

  /**
   * The row kernel's or the sparse update's bind group (layout `sparseUpdate`), cached in `cache`:
   * the group's variables, accumulators and gradient sums with these tiles, values and pairs.
   */
  #sparseBindGroup(
    cache: CachedBindGroup,
    name: string,
    inputs: UpdateInputs,
    { tiles, values, pairs }: { tiles: GPUBuffer; values: GPUBuffer; pairs: GPUBuffer },
  ): GPUBindGroup {
    const b = this.#bound;
    return cache.get(
      this.#generation,
      () =>
        this.#kernels.bindGroup("sparseUpdate", `${this.label} ${name}`, [
          inputs.params,
          tiles,
          b.variables,
          b.accumulators,
          values,
          inputs.norms,
          inputs.verdict,
          pairs,
          b.gradientSums ?? { buffer: inputs.standIn, offset: 256, size: 16 },
        ]),
    );
  }

  destroy(): void {
    this.#dense.destroy();
    this.#reduce.destroy();
    this.#sparseTiles.destroy();
  }
}

/** A group's reduction tiles over its gradient sums, which hold gradients prepared already. */
class MeanSource implements ReductionSource {
  readonly prepared = true;
  readonly #group: UpdateGroup;
  readonly #sums: () => GPUBuffer;

  constructor(group: UpdateGroup, sums: () => GPUBuffer) {
    this.#group = group;
    this.#sums = sums;
  }

  get reduceCount(): number {
    return this.#group.reduceCount;
  }

  get reduceTiles(): GPUBuffer {
    return this.#group.reduceTiles;
  }

  get reduceData(): GPUBuffer {
    return this.#sums();
  }

  /** Float32, whatever the group's gradients are. */
  get layout(): GradientLayout {
    return this.#group.layout === "scalar" ? "scalar" : "vec4";
  }

  get label(): string {
    return `${this.#group.label} mean`;
  }
}
