// The prelude: what the kernels share. scripts/gen_shaders.ts puts it in front of every kernel
// that starts with `// requires: _prelude.wgsl`; a file whose name starts with `_` is no kernel.
// It holds the specialisation constants, the structs the CPU writes or reads (each declared here
// or in the one kernel that uses it; src/_kernels/shader_interface.ts mirrors them and
// tests/shader_interface_test.ts compares the two) and the shared math. It declares no resource
// bindings: the helpers take values, so each kernel keeps its own bind group.

// Threads per workgroup; fixed at pipeline creation.
override WORKGROUP_SIZE: u32 = 256u;
// Opt-in rule of tf.keras 2.11+, Keras 3, TF.js and Optax: var -= lr * g / sqrt(accum + eps).
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
// Which framework's Adagrad the step computes (RULE; RuleMode in src/_kernels/specialisation.ts):
// Keras 2 (TF 2.4-2.10, ResourceApplyAdagradV2), Keras 3 (keras.optimizers.Adagrad), PyTorch
// (torch.optim.Adagrad), TensorFlow's ApplyProximalAdagrad or ApplyAdagradDA. Epsilon's place is
// EPSILON_INSIDE_SQRT, set by the rule; the last two have none.
override RULE: u32 = 0u;
const RULE_KERAS2: u32 = 0u;
const RULE_KERAS3: u32 = 1u;
const RULE_TORCH: u32 = 2u;
const RULE_PROXIMAL: u32 = 3u;
const RULE_ADAGRAD_DA: u32 = 4u;
// A rule's options that need code of their own: weight decay (Keras 3's decoupled one, PyTorch's
// L2 one), PyTorch's `maximize`, Keras 3's moving average (`use_ema`, the `average` slot) and
// gradient accumulation (`gradient_accumulation_steps`, the `gradient_accumulator` slot).
override WEIGHT_DECAY: bool = false;
override MAXIMIZE: bool = false;
override EMA: bool = false;
override ACCUMULATE: bool = false;
// Row-wise Adagrad's options from FBGEMM (rowwise_adagrad.wgsl): its weight decay mode
// (ROW_DECAY; RowDecayMode in src/_kernels/specialisation.ts) and `max_norm`.
override ROW_DECAY: u32 = 0u;
const ROW_DECAY_NONE: u32 = 0u;
const ROW_DECAY_L2: u32 = 1u;
const ROW_DECAY_DECOUPLED: u32 = 2u;
override MAX_NORM: bool = false;
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
  // Keras 3: decoupled, `w -= w * weight_decay * lr`; PyTorch: L2, `g += weight_decay * w`.
  weight_decay: f32,
  // Keras 3 `loss_scale_factor` (1 without one): gradients are divided by it first.
  loss_scale_factor: f32,
  // Keras 3 `gradient_accumulation_steps`: the update divides the gradients' sum by it.
  accumulation_steps: f32,
  // Keras 3's moving average this call: the momentum (0 on the first step), and 1 to overwrite
  // the variables with their averages (every `ema_overwrite_frequency` steps).
  ema_momentum: f32,
  ema_overwrite: u32,
  // PyTorch `lr_decay`, and this call's number among the optimizer's steps (1 for the first):
  // a variable's own step is `step - lag` (Tile.lag, SparseTile.lag). AdagradDA's T is `step`.
  lr_decay: f32,
  step: u32,
  // ProximalAdagrad's and AdagradDA's L1 and L2 regularization strengths.
  l1: f32,
  l2: f32,
  // Row-wise Adagrad's `max_norm`.
  max_norm: f32,
  pad0: u32,
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
  // 1 when weight decay applies to the variable (Keras 3's exclude_from_weight_decay clears it).
  decay: u32,
  // PyTorch: the optimizer's steps in which the variable had no gradient (its state's step is
  // Params.step - lag).
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

// The builtins of a kernel that runs one workgroup per tile. Kernels with barriers take
// `Workgroup` and the lane instead: WGSL's uniformity analysis counts a struct parameter as
// non-uniform as a whole when it holds the lane, and the barriers need the tile index uniform.
struct Invocation {
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) lane: u32,
}

// The workgroup's place in the dispatch, for kernels with barriers: both builtins are uniform,
// so unlike `Invocation` (which holds the lane) the struct is too.
struct Workgroup {
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
}

// This workgroup's tile. Large tables are dispatched as a 2D grid (65,535 workgroups per
// dimension at most).
fn tile_index(group: vec3u, groups: vec3u) -> u32 {
  return group.y * groups.x + group.x;
}

fn workgroup_index(w: Workgroup) -> u32 {
  return tile_index(w.group, w.groups);
}

// The items `lane` takes of a tile of `count`: first, first + stride, ... below end.
struct LaneRun {
  first: u32,
  end: u32,
  stride: u32,
}

fn lane_run(lane: u32, count: u32) -> LaneRun {
  if (LANE_BLOCK == 0u) {
    return LaneRun(lane, count, WORKGROUP_SIZE);
  }
  // At least 1 (the pipeline evaluates override expressions even on the branch not taken), at
  // most the workgroup (wider, one block: the lanes side by side).
  let lanes = clamp(LANE_BLOCK, 1u, WORKGROUP_SIZE);
  let batches = max(WORKGROUP_SIZE / lanes, 1u);
  // A batch's block: its share of the tile, in whole rounds of its lanes.
  let share = ((count + batches - 1u) / batches + lanes - 1u) / lanes * lanes;
  let start = lane / lanes * share;
  return LaneRun(start + lane % lanes, min(start + share, count), lanes);
}

// Lanes per run of lane_order_sum.
const RUN: u32 = 16u;

// The threads' values for lane_order_sum; a kernel that does not call it has none of it.
var<workgroup> lane_values: array<f32, WORKGROUP_SIZE>;

// The sum of every lane's `value`, in lane order: runs of RUN lanes, then the runs, behind two
// barriers (one per lane would cost a CPU adapter more, a tree more barriers). The order is
// fixed, so the result does not depend on scheduling. The result is lane 0's only. Call it in
// uniform control flow, and not again before every lane has passed another barrier.
fn lane_order_sum(lane: u32, value: f32) -> f32 {
  lane_values[lane] = value;
  workgroupBarrier();
  let runs = (WORKGROUP_SIZE + RUN - 1u) / RUN;
  if (lane < runs) {
    var run = 0.0;
    for (var k = lane * RUN; k < min(lane * RUN + RUN, WORKGROUP_SIZE); k++) {
      run += lane_values[k];
    }
    // Only this lane reads or writes its run's first entry from here on.
    lane_values[lane * RUN] = run;
  }
  workgroupBarrier();
  var total = 0.0;
  if (lane == 0u) {
    for (var r = 0u; r < runs; r++) {
      total += lane_values[r * RUN];
    }
  }
  return total;
}

// WGSL lets implementations assume there are no infinities or NaNs, so test the bits.
fn is_finite_bits(bits: u32) -> bool {
  return (bits & 0x7f800000u) != 0x7f800000u;
}

fn is_finite(x: f32) -> bool {
  return is_finite_bits(bitcast<u32>(x));
}

// Whether `skipNonFinite`, or a dynamic loss scale, skips this step.
fn skip_step(verdict: Verdict) -> bool {
  return (SKIP_NON_FINITE || LOSS_SCALE == LOSS_SCALE_DYNAMIC) && verdict.skip != 0u;
}

// A raw gradient as the optimizer sees it: unscaled, with a LossScaleOptimizer.
fn unscaled(g: f32, unscale: f32) -> f32 {
  if (LOSS_SCALE != LOSS_SCALE_NONE) {
    return g * unscale;
  }
  return g;
}

// A raw gradient as the rule takes it, before any clipping or accumulation: unscaled, divided by
// Keras 3's loss_scale_factor (1 when unset: exact), negated by PyTorch's `maximize`.
fn prepared(g: f32, params: Params, unscale: f32) -> f32 {
  var x = unscaled(g, unscale);
  // A uniform branch: no division per element without a factor (x / 1 is x).
  if (RULE == RULE_KERAS3 && params.loss_scale_factor != 1.0) {
    x = x / params.loss_scale_factor;
  }
  if (RULE == RULE_TORCH && MAXIMIZE) {
    x = -x;
  }
  return x;
}

// The step's learning rate: the CPU's, or the one non_finite.wgsl's `finalize` picked.
fn step_lr(params: Params, verdict: Verdict) -> f32 {
  if (SKIP_NON_FINITE) {
    return verdict.lr;
  }
  return params.lr;
}

// Keras's clip of one prepared gradient value: clipvalue, then clipnorm with the variable's
// `divisor` or global_clipnorm with `global_scale` (both from clip_norms.wgsl).
fn clip_prepared(g: f32, params: Params, divisor: f32, global_scale: f32) -> f32 {
  var x = g;
  if (CLIP_VALUE) {
    x = clamp(x, -params.clip_value, params.clip_value);
  }
  if (NORM_MODE == NORM_CLIPNORM) {
    return (x * params.clip_norm) / divisor; // tf.clip_by_norm's order of operations
  }
  if (NORM_MODE == NORM_GLOBAL) {
    return x * global_scale;
  }
  return x;
}

// Keras's clip of one raw gradient value: prepared, then clipped.
fn clip(g: f32, params: Params, unscale: f32, divisor: f32, global_scale: f32) -> f32 {
  return clip_prepared(prepared(g, params, unscale), params, divisor, global_scale);
}

// What the step divides by, from the new accumulator.
fn denominator(a: f32, epsilon: f32) -> f32 {
  if (EPSILON_INSIDE_SQRT) {
    return sqrt(a + epsilon);
  }
  return sqrt(a) + epsilon;
}

// PyTorch's learning rate for a variable that missed `lag` of the optimizer's steps:
// lr / (1 + (step - 1) * lr_decay), from the variable's own step count. u32 arithmetic wraps, so
// a lag that wrapped below 0 (steps restored beyond the calls) still gives the variable's step.
fn torch_lr(lr: f32, params: Params, lag: u32) -> f32 {
  return lr / (1.0 + f32(params.step - lag - 1u) * params.lr_decay);
}

// One element of the rule's Adagrad from the clipped gradient, in each framework's order of
// operations (Keras 2: TensorFlow's ResourceApplyAdagradV2 CPU kernel; Keras 3: update_step;
// PyTorch: _single_tensor_adagrad, with its L2 weight decay when `decay`; ProximalAdagrad:
// TensorFlow's ApplyProximalAdagrad CPU kernel): (new accumulator, new variable). Keras 3's
// decoupled weight decay is applied to `variable` before this. AdagradDA: `adagrad_da`.
fn adagrad(g: f32, accumulator: f32, variable: f32, lr: f32, params: Params, decay: bool) -> vec2f {
  if (RULE == RULE_PROXIMAL) {
    // FOBOS with Adagrad's step size, no epsilon: a gradient step, then the L1 soft threshold
    // (a uniform branch, as TF's) and the L2 shrink. Exact zeros are what L1 is for.
    let a = accumulator + g * g;
    let eta = lr / sqrt(a);
    let prox = variable - g * eta;
    if (params.l1 > 0.0) {
      return vec2f(a, sign(prox) * max(abs(prox) - eta * params.l1, 0.0) / (1.0 + params.l2 * eta));
    }
    return vec2f(a, prox / (1.0 + params.l2 * eta));
  }
  if (RULE == RULE_TORCH) {
    var grad = g;
    if (WEIGHT_DECAY && decay) {
      grad = g + params.weight_decay * variable;
    }
    let a = accumulator + grad * grad;
    return vec2f(a, variable - lr * (grad / denominator(a, params.epsilon)));
  }
  let a = accumulator + g * g;
  return vec2f(a, variable - (g * lr) / denominator(a, params.epsilon));
}

// AdagradDA (TensorFlow's ApplyAdagradDA CPU kernel): dual averaging. The sums of the gradients
// and of their squares grow; the variable is recomputed from them, whatever it was, with
// T = iterations + 1 (`Params.step`) and no epsilon. (new gradient sum, new squared sum, new
// variable).
fn adagrad_da(g: f32, gradient_sum: f32, squared_sum: f32, lr: f32, params: Params) -> vec3f {
  let ga = gradient_sum + g;
  let gg = squared_sum + g * g;
  let t = f32(params.step);
  let denominator = params.l2 * (t * lr) + sqrt(gg);
  if (params.l1 > 0.0) {
    return vec3f(ga, gg, lr * -1.0 * sign(ga) * max(abs(ga) - t * params.l1, 0.0) / denominator);
  }
  return vec3f(ga, gg, lr * ga * -1.0 / denominator);
}
