// How an update group applies its dense gradients, chosen by the optimizer's variant
// (`denseRows`): element by element with the fused update (adagrad_dense.wgsl) over tiles of the
// variables, or row by row with the row kernel (rowwise_adagrad.wgsl) over identity tiles of rows,
// each row's gradient read where it lies in the gradient arena (RowWiseAdagrad).
import { COPY_DST, STORAGE } from "../_common/usage.ts";
import { CachedBindGroup, type Generation } from "../_kernels/cached_bind_group.ts";
import { GrowingTable } from "../_kernels/growing_buffer.ts";
import type { Kernels } from "../_kernels/kernels.ts";
import { type GradientLayout, Phase } from "../_kernels/specialisation.ts";
import { finishSparseTable, sparseTableWords, writeRowTiles } from "../_kernels/sparse_tiles.ts";
import { dispatch, tableUsed, tableWords, type TileSource, writeTiles } from "../_kernels/tiles.ts";
import type { Variant } from "./variant.ts";

/** What every update reads besides the group's own buffers. */
export interface UpdateInputs {
  params: GPUBuffer;
  norms: GPUBuffer;
  verdict: GPUBuffer;
  /** Bound in place of slots a rule does not have (two disjoint 256-byte halves). */
  standIn: GPUBuffer;
}

/** The buffers one dispatch binds. */
export interface GroupBuffers {
  variables: GPUBufferBinding;
  /** Called when a dense step first needs it (an arena allocates it then). */
  gradients: () => GPUBuffer;
  /** The gradients are float16 (a store with `gradDtype: "float16"`; vec4 layouts only). */
  halfGradients?: boolean;
  accumulators: GPUBuffer;
  /** Keras 3's `average` slots (use_ema), laid out as the accumulators. */
  averages?: GPUBuffer;
  /**
   * Keras 3's `gradient_accumulator` slots (or a rule's own sums of its gradients), laid out as
   * the accumulators.
   */
  gradientSums?: GPUBuffer;
}

/** What a dense update needs of its group. */
export interface DenseContext {
  readonly kernels: Kernels;
  readonly generation: Generation;
  readonly label: string;
  /** The group's buffers, once configured. */
  buffers(): GroupBuffers;
  /** How the kernels load the group's gradients. */
  layout(): GradientLayout;
  /** A bind group of layout `sparseUpdate` with these tiles, values and pairs, cached in `cache`. */
  sparseBindGroup(
    cache: CachedBindGroup,
    name: string,
    inputs: UpdateInputs,
    parts: { tiles: GPUBuffer; values: GPUBuffer; pairs: GPUBuffer },
  ): GPUBindGroup;
}

/** A group's dense update. */
export interface DenseUpdate {
  /** Whether each source's elements per row shape its tables (a key for writing them again). */
  readonly byRows: boolean;
  /** Where a source's dense gradient lies, for the reduction tiles. */
  gradientOf(source: TileSource): TileSource;
  /** Sizes the tables for all of a group's `members` at once, when it is configured. */
  reserve(members: readonly { length: number }[]): void;
  /** Writes this step's update tables for `sources`; returns the dispatch's tile count. */
  write(sources: readonly TileSource[], widths: readonly number[], partialBase: number): number;
  /** Records the update of `tiles` tiles (in `phase`, under gradient accumulation). */
  encode(pass: GPUComputePassEncoder, inputs: UpdateInputs, phase: Phase, tiles: number): void;
  destroy(): void;
}

/** The variant's dense update for a group. */
export function denseUpdateFor(variant: Variant, context: DenseContext): DenseUpdate {
  return variant.denseRows ? new RowUpdate(context) : new ElementUpdate(context);
}

const table = (context: DenseContext, name: string) =>
  new GrowingTable(
    context.kernels.device,
    context.generation,
    `${context.label} ${name}`,
    STORAGE | COPY_DST,
  );

/** The fused update (adagrad_dense.wgsl), a tile of the kernels' tileElements per workgroup. */
class ElementUpdate implements DenseUpdate {
  readonly byRows = false;
  readonly #context: DenseContext;
  readonly #tiles: GrowingTable;
  readonly #bindGroup = new CachedBindGroup();

  constructor(context: DenseContext) {
    this.#context = context;
    this.#tiles = table(context, "tiles");
  }

  gradientOf(source: TileSource): TileSource {
    return source; // the gradients mirror the slots
  }

  reserve(members: readonly { length: number }[]): void {
    this.#tiles.ensure(tableWords(members, this.#context.kernels.tileElements));
  }

  write(sources: readonly TileSource[], _widths: readonly number[], partialBase: number): number {
    const tile = this.#context.kernels.tileElements;
    // Sized here, not once: the tile size may change (tests and the bench force shapes).
    this.#tiles.ensure(tableWords(sources, tile));
    const count = writeTiles(sources, tile, this.#tiles.words, partialBase);
    this.#tiles.write(tableUsed(count));
    return count;
  }

  encode(pass: GPUComputePassEncoder, inputs: UpdateInputs, phase: Phase, tiles: number): void {
    const { kernels, generation, label } = this.#context;
    const b = this.#context.buffers();
    const group = this.#bindGroup.get(
      generation,
      () =>
        kernels.bindGroup("update", label, [
          inputs.params,
          this.#tiles.buffer,
          b.variables,
          b.accumulators,
          b.gradients(),
          inputs.norms,
          inputs.verdict,
          b.averages ?? { buffer: inputs.standIn, offset: 0, size: 16 },
          b.gradientSums ?? { buffer: inputs.standIn, offset: 256, size: 16 },
        ]),
    );
    const pipeline = kernels.update(this.#context.layout(), phase);
    dispatch(pass, pipeline, group, tiles, kernels.maxWorkgroupsPerDimension);
  }

  destroy(): void {
    this.#tiles.destroy();
  }
}

/**
 * Row-wise Adagrad's dense update: the row kernel over identity tiles, a workgroup's rows each;
 * the reduction tiles read the gradients, which mirror the variables (the row accumulators do not).
 */
class RowUpdate implements DenseUpdate {
  readonly byRows = true;
  readonly #context: DenseContext;
  readonly #tiles: GrowingTable;
  readonly #bindGroup = new CachedBindGroup();

  constructor(context: DenseContext) {
    this.#context = context;
    this.#tiles = table(context, "row tiles");
  }

  gradientOf(source: TileSource): TileSource {
    return { ...source, slotOffset: source.varOffset };
  }

  reserve(): void {} // sized by each step's rows (a few words per workgroup of rows)

  write(sources: readonly TileSource[], widths: readonly number[]): number {
    const unit = this.#context.kernels.rowsPerTile;
    const count = sources.reduce((n, s, k) => n + Math.ceil(s.length / widths[k] / unit), 0);
    this.#tiles.ensure(sparseTableWords(count));
    const out = this.#tiles.words;
    const tiles = writeRowTiles(sources, widths, unit, out);
    this.#tiles.write(finishSparseTable(out, tiles));
    return tiles;
  }

  encode(pass: GPUComputePassEncoder, inputs: UpdateInputs, phase: Phase, tiles: number): void {
    // RowWiseAdagrad has no gradient accumulation (its rule is Keras 2's): never a phase.
    if (phase !== Phase.step) {
      throw new Error(`webgpu-adagrad: ${this.#context.label}: a row-wise phase`);
    }
    const { kernels } = this.#context;
    // Identity tiles read no sort pairs: a read-only stand-in (the norms, bound read-only).
    const group = this.#context.sparseBindGroup(this.#bindGroup, "rows", inputs, {
      tiles: this.#tiles.buffer,
      values: this.#context.buffers().gradients(),
      pairs: inputs.norms,
    });
    const pipeline = kernels.sparseUpdate("row");
    dispatch(pass, pipeline, group, tiles, kernels.maxWorkgroupsPerDimension);
  }

  destroy(): void {
    this.#tiles.destroy();
  }
}
