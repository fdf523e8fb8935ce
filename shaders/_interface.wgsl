// The interface of every kernel: the specialisation constants (WGSL `override`s, set at pipeline
// creation from src/_kernels/kernels.ts) with their modes' values, and the structs the CPU writes
// or reads (each declared here or in the one kernel that uses it; src/_kernels/shader_interface.ts
// mirrors them and tests/kernels/shader_interface_test.ts compares the two). scripts/gen_shaders.ts
// puts a `_`-prefixed file in front of each kernel that asks for it with `// requires:`. Every
// kernel requires this one, since every pipeline is given the same constants.

// Threads per workgroup; fixed at pipeline creation.
override WORKGROUP_SIZE: u32 = 256u;
// Opt-in rule of tf.keras 2.11+, Keras 3, TF.js and JAX's optimizers:
// var -= lr * g / sqrt(accum + eps).
override EPSILON_INSIDE_SQRT: bool = false;
// Keras's clipping, in Keras's order: clipvalue, then clipnorm or global_clipnorm (NORM_MODE).
override CLIP_VALUE: bool = false;
override NORM_MODE: u32 = 0u;
// NORM_MODE's values (NormMode in src/_kernels/specialisation.ts, compared by a test).
const NORM_NONE: u32 = 0u;
const NORM_CLIPNORM: u32 = 1u;
const NORM_GLOBAL: u32 = 2u;
// `skipNonFinite`: skip the step when non_finite.wgsl found a NaN or an infinity, and take the
// learning rate it picked.
override SKIP_NON_FINITE: bool = false;
// A LossScaleOptimizer around the optimizer (LOSS_SCALE). With either scale, every gradient is
// multiplied by the verdict's `unscale` before clipping, as Keras's get_unscaled_gradients does;
// with a dynamic scale the verdict also skips non-finite steps.
override LOSS_SCALE: u32 = 0u;
// LOSS_SCALE's values (LossScaleMode in src/_kernels/specialisation.ts).
const LOSS_SCALE_NONE: u32 = 0u;
const LOSS_SCALE_FIXED: u32 = 1u;
const LOSS_SCALE_DYNAMIC: u32 = 2u;
// Which rule the update computes (RULE): a rule's number is its file's place among
// shaders/rules/*.wgsl, and the generated `_rules.wgsl` declares a RULE_<NAME> const for each and
// calls the rule's functions (src/_kernels/shaders.ts's RULE_KERNELS gives TypeScript the same
// numbers). Epsilon's place is EPSILON_INSIDE_SQRT, for the rules that read it.
override RULE: u32 = 0u;
// What the rule's state holds besides the accumulator (its TypeScript module declares it): a
// sum of the gradients (RuleState.gradient_sum, the `gradient_sums` slot), and whether the step
// reads the variable before writing it (a rule that recomputes it from its sums does not).
override RULE_SUMS: bool = false;
override RULE_READS_VARIABLE: bool = true;
// Keras 3's moving average (`use_ema`, the `average` slot) and gradient accumulation
// (`gradient_accumulation_steps`, the `gradient_accumulator` slot): whole-variable options the
// dense update runs around any rule.
override EMA: bool = false;
override ACCUMULATE: bool = false;
// Row-wise Adagrad's options from FBGEMM (rowwise_adagrad.wgsl): its weight decay mode
// (ROW_DECAY; RowDecayMode in src/_kernels/specialisation.ts) and `max_norm`.
override ROW_DECAY: u32 = 0u;
const ROW_DECAY_NONE: u32 = 0u;
const ROW_DECAY_L2: u32 = 1u;
const ROW_DECAY_DECOUPLED: u32 = 2u;
override MAX_NORM: bool = false;
// The number formats the optimizer state (the slots) and the weights are stored in (STATE_FORMAT,
// WEIGHT_FORMAT; FormatMode and NumberFormat in src/_common/number_format.ts). The update kernels
// load and store them only through their `load_*` and `store_*` functions, next to the bindings,
// so a new format is a branch there (and a codec in TypeScript). float32 is the only format yet.
override STATE_FORMAT: u32 = 0u;
override WEIGHT_FORMAT: u32 = 0u;
const FORMAT_FLOAT32: u32 = 0u;
// How the dense update's lanes share a tile (`lane_run`; DispatchShape in src/_kernels/kernels.ts):
// 0, each lane every WORKGROUP_SIZE-th item from its own, a GPU's coalesced order; n, each batch
// of n lanes one contiguous block of the tile, for a CPU adapter that runs n lanes at a time as
// one vector (lavapipe: 8) and streams memory fastest in order.
override LANE_BLOCK: u32 = 0u;

// Per-step values, written once per step by the CPU (no readback needed to compute them).
struct Params {
  lr: f32,
  epsilon: f32,
  clip_value: f32,
  clip_norm: f32,
  // Keras 3 `gradient_accumulation_steps`: the update divides the gradients' sum by it.
  accumulation_steps: f32,
  // Keras 3's moving average this call: the momentum (0 on the first step), and 1 to overwrite
  // the variables with their averages (every `ema_overwrite_frequency` steps).
  ema_momentum: f32,
  ema_overwrite: u32,
  // This call's number among the optimizer's steps (1 for the first): a variable's own step is
  // `step - lag` (Tile.lag, SparseTile.lag), for rules that count steps.
  step: u32,
  // The rule's own arguments, as its TypeScript module writes them (`RuleArgs`): each rule reads
  // `rule_args(params)` as a vec4f and names the components in its file.
  arg0: f32,
  arg1: f32,
  arg2: f32,
  arg3: f32,
}

// A run of at most a few thousand elements of one variable, one workgroup's work. Element
// offsets: `var_offset` indexes the variables, `slot_offset` the gradients and accumulators.
// Store variables have equal offsets (slot arenas mirror the variable arena); variables that live
// in the caller's own buffer do not. Tiles never straddle variables, so reductions need no atomics.
struct Tile {
  var_offset: u32,
  slot_offset: u32,
  length: u32,
  variable: u32,
  // 1 when the rule's weight decay applies to the variable (Keras 3's exclude_from_weight_decay
  // clears it).
  decay: u32,
  // The optimizer's steps in which the variable had no gradient, for rules that count a
  // variable's own steps (its step is Params.step - lag).
  lag: u32,
}

// sum_squares.wgsl writes tile t's partial sum at `partial_base + t`.
struct TileTable {
  count: u32,
  partial_base: u32,
  pad0: u32,
  pad1: u32,
  tiles: array<Tile>,
}

// A run of at most a few thousand elements of one sparse gradient's sorted (nnz x width) block
// (adagrad_sparse.wgsl), or of rows (rowwise_adagrad.wgsl).
struct SparseTile {
  // Element offsets of the variable's row 0 in the variables and in the accumulators.
  var_offset: u32,
  slot_offset: u32,
  // Elements per row.
  width: u32,
  // Index among the step's variables (per-variable norms).
  variable: u32,
  // The entry's indices: where they start in the concatenation (and in the sorted pairs).
  nnz_base: u32,
  nnz: u32,
  // Key of row 0, and the variable's rows; key row_base + rows marks an out-of-range index.
  row_base: u32,
  rows: u32,
  // Element offset of the entry's first value row in the values.
  value_base: u32,
  // The tile's elements (rows, row-wise), row-major over the entry's sorted block.
  start: u32,
  length: u32,
  // Row-wise only, 1: a dense gradient; position s is row s and value row s.
  identity: u32,
  // As Tile.lag.
  lag: u32,
}

struct SparseTileTable {
  count: u32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
  tiles: array<SparseTile>,
}

// One IndexedSlices of the step, for sparse_keys.wgsl.
struct SparseEntry {
  // First of the entry's indices in the step's concatenation.
  nnz_base: u32,
  nnz: u32,
  // Key of the entry's row 0; rows + 1 keys are reserved, the last for out-of-range indices.
  row_base: u32,
  rows: u32,
}

struct EntryTable {
  count: u32,
  // Indices in the step, and the sort's length (a power of two, at least one sort block).
  total: u32,
  padded: u32,
  pad0: u32,
  entries: array<SparseEntry>,
}

// Written by clip_norms.wgsl: global_clipnorm's scale, or per variable of the step a divisor.
struct Norms {
  global_scale: f32,
  pad0: f32,
  pad1: f32,
  pad2: f32,
  divisors: array<f32>,
}

// Written by non_finite.wgsl: 1 to skip this step, the step's learning rate (`finalize`), and what
// a LossScaleOptimizer's gradients are multiplied by (`update_loss_scale`, or the CPU for a
// fixed scale): 1 / scale for gradients of a scaled loss, 1 for unscaled ones.
struct Verdict {
  skip: u32,
  lr: f32,
  unscale: f32,
  pad0: u32,
}
