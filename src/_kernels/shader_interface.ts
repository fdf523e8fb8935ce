// The TypeScript side of every struct and bind group the kernels share with the CPU. Each layout
// is written here once, and tests/kernels/shader_interface_test.ts reflects the WGSL and compares: a field
// or binding added on one side only fails a test instead of corrupting a step.

/** A WGSL struct of 4-byte scalars (u32/f32), as the CPU writes it: field name -> word index. */
export interface StructLayout<F extends string> {
  /** The WGSL struct's name. */
  readonly name: string;
  /** Field names in declaration order. */
  readonly fields: readonly F[];
  /** Word index of each field. */
  readonly at: Readonly<Record<F, number>>;
  readonly words: number;
  readonly bytes: number;
}

function struct<const F extends string>(name: string, ...fields: F[]): StructLayout<F> {
  const at = Object.fromEntries(fields.map((f, i) => [f, i])) as Record<F, number>;
  return { name, fields, at, words: fields.length, bytes: 4 * fields.length };
}

/** The per-step uniform: `Params`. */
export const PARAMS = struct(
  "Params",
  "lr",
  "epsilon",
  "clip_value",
  "clip_norm",
  "accumulation_steps",
  "ema_momentum",
  "ema_overwrite",
  "step",
  "arg0",
  "arg1",
  "arg2",
  "arg3",
);
/** A dense tile: a run of one variable (`Tile`). */
export const TILE = struct(
  "Tile",
  "var_offset",
  "slot_offset",
  "length",
  "variable",
  "decay",
  "lag",
);
/** The header of a dense tile table (`TileTable`, before `tiles`). */
export const TILE_TABLE = struct("TileTable", "count", "partial_base", "pad0", "pad1");
/**
 * A run of a sparse gradient's sorted block, or of a row-wise group's dense gradient in place
 * (`SparseTile`).
 */
export const SPARSE_TILE = struct(
  "SparseTile",
  "var_offset",
  "slot_offset",
  "width",
  "variable",
  "nnz_base",
  "nnz",
  "row_base",
  "rows",
  "value_base",
  "start",
  "length",
  "identity",
  "lag",
);
/** The header of a sparse tile table (`SparseTileTable`, before `tiles`). */
export const SPARSE_TILE_TABLE = struct("SparseTileTable", "count", "pad0", "pad1", "pad2");
/** One IndexedSlices of a step, for the sort keys (`SparseEntry`). */
export const SPARSE_ENTRY = struct("SparseEntry", "nnz_base", "nnz", "row_base", "rows");
/** The header of the entry table (`EntryTable`, before `entries`); the sort reads `padded`. */
export const ENTRY_TABLE = struct("EntryTable", "count", "total", "padded", "pad0");
/** One dispatch of the bitonic sort, at a dynamic uniform offset (`SortStep`). */
export const SORT_STEP = struct("SortStep", "k", "j", "pad0", "pad1");
/** One pass of the radix sort, at a dynamic uniform offset (`RadixPass`). */
export const RADIX_PASS = struct("RadixPass", "shift", "blocks");
/** Per variable of a clipped step: its first partial sum and their count (`VariableTiles`). */
export const VARIABLE_TILES = struct("VariableTiles", "first", "count");
/** The header of the variable table (`VariableTable`, before `variables`). */
export const VARIABLE_TABLE = struct("VariableTable", "count", "large", "pad0", "pad1");
/** The header of the norms (`Norms`, before the per-variable `divisors`). */
export const NORMS = struct("Norms", "global_scale", "pad0", "pad1", "pad2");
/** Whether the step runs, its learning rate and a loss scale's factor, read by the updates. */
export const VERDICT = struct("Verdict", "skip", "lr", "unscale", "pad0");
/** The non-finite check's state: `found` is atomic, `skipped` counts skipped steps. */
export const NON_FINITE_STATE = struct("NonFiniteState", "found", "skipped", "pad0", "pad1");
/** A dynamic loss scale's state (`LossScale`): the scale, Keras's counter, and the CPU's words. */
export const LOSS_SCALE = struct("LossScale", "scale", "good_steps", "growth_steps", "scaled");
/** The header of `skipNonFinite`'s learning-rate table (`LrTable`, before `lr`). */
export const LR_TABLE = struct("LrTable", "known", "pad0", "pad1", "pad2");

/** A bind group layout: binding number -> buffer binding type. */
export type BindingTable = Readonly<Record<number, GPUBufferBindingType>>;

const U: GPUBufferBindingType = "uniform";
const R: GPUBufferBindingType = "read-only-storage";
const W: GPUBufferBindingType = "storage";

/** Every bind group layout of the package, by kernel. */
export const BINDINGS = {
  /**
   * adagrad_dense.wgsl: params, tiles, variables, accumulators, gradients, norms, verdict, then
   * Keras 3's averages and gradient sums (stand-ins when the rule has none).
   */
  update: { 0: U, 1: R, 2: W, 3: W, 4: R, 5: R, 6: R, 7: W, 8: W },
  /**
   * adagrad_sparse.wgsl, rowwise_adagrad.wgsl: as `update` (values for gradients), then pairs and
   * the gradient sums of a rule that keeps them (a stand-in for the others).
   */
  sparseUpdate: { 0: U, 1: R, 2: W, 3: W, 4: R, 5: R, 6: R, 7: R, 8: W },
  /** sum_squares.wgsl: params, tiles, gradients, partials, verdict (a loss scale's factor). */
  sumSquares: { 0: U, 1: R, 2: R, 3: W, 4: R },
  /** clip_norms.wgsl: params, variable table, partials, norms. */
  clipNorms: { 0: U, 1: R, 2: R, 3: W },
  /** sparse_keys.wgsl: entry table, indices, pairs, skipped count. */
  sparseKeys: { 0: R, 1: R, 2: W, 3: W },
  /** bitonic_sort.wgsl: sort step (dynamic offset), entry table, pairs. */
  sort: { 0: U, 1: R, 2: W },
  /** radix_sort.wgsl: pass (dynamic offset), entry table, pairs in, histogram, pairs out. */
  radix: { 0: U, 1: R, 2: R, 3: W, 4: W },
  /** non_finite.wgsl `check_finite`: tiles, gradients, the check's state. */
  checkFinite: { 0: R, 1: R, 2: W },
  /** non_finite.wgsl `finalize`: the check's state, learning-rate table, verdict. */
  finalize: { 2: W, 3: R, 4: W },
  /** widen_f16.wgsl: tiles, halves, values. */
  widen: { 0: R, 1: R, 2: W },
  /** non_finite.wgsl `update_loss_scale`: the check's state, verdict, loss scale. */
  lossScale: { 2: W, 4: W, 5: W },
} as const satisfies Record<string, BindingTable>;

/** Bindings read at a dynamic offset: a table of per-dispatch uniforms, written once. */
export const DYNAMIC_OFFSETS: Readonly<Partial<Record<keyof typeof BINDINGS, readonly number[]>>> =
  {
    sort: [0],
    radix: [0],
  };

/** Which kernel (file and entry point) each binding table serves. */
export const ENTRY_POINTS: Readonly<Record<keyof typeof BINDINGS, readonly string[]>> = {
  update: [
    "adagrad_dense.wgsl:update",
    "adagrad_dense.wgsl:update_vec4",
    "adagrad_dense.wgsl:update_vec4_f16",
  ],
  sparseUpdate: ["adagrad_sparse.wgsl:sparse_update", "rowwise_adagrad.wgsl:rowwise_update"],
  sumSquares: [
    "sum_squares.wgsl:sum_squares",
    "sum_squares.wgsl:sum_squares_vec4",
    "sum_squares.wgsl:sum_squares_vec4_f16",
  ],
  clipNorms: ["clip_norms.wgsl:clip_norms"],
  sparseKeys: ["sparse_keys.wgsl:sparse_keys"],
  sort: [
    "bitonic_sort.wgsl:sort_block",
    "bitonic_sort.wgsl:sort_merge",
    "bitonic_sort.wgsl:sort_step",
  ],
  radix: [
    "radix_sort.wgsl:radix_histogram",
    "radix_sort.wgsl:radix_scan",
    "radix_sort.wgsl:radix_scatter",
  ],
  checkFinite: [
    "non_finite.wgsl:check_finite",
    "non_finite.wgsl:check_finite_vec4",
    "non_finite.wgsl:check_finite_vec4_f16",
  ],
  finalize: ["non_finite.wgsl:finalize"],
  lossScale: ["non_finite.wgsl:update_loss_scale"],
  widen: ["widen_f16.wgsl:widen_f16"],
};

/** Every struct the CPU writes or reads. */
export const STRUCTS: readonly StructLayout<string>[] = [
  PARAMS,
  TILE,
  TILE_TABLE,
  SPARSE_TILE,
  SPARSE_TILE_TABLE,
  SPARSE_ENTRY,
  ENTRY_TABLE,
  SORT_STEP,
  RADIX_PASS,
  VARIABLE_TILES,
  VARIABLE_TABLE,
  NORMS,
  VERDICT,
  NON_FINITE_STATE,
  LOSS_SCALE,
  LR_TABLE,
];
