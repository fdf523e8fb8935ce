// requires: _interface.wgsl
// requires: _dispatch.wgsl
// requires: _finite.wgsl
// Norm clipping, pass 2 of 2: per variable of the step, the sum of its tiles' partials (in tile
// order), then what the update multiplies and divides by, as TensorFlow's clip ops compute it:
//
//   clipnorm (per variable):   g * clip_norm / max(||g||, clip_norm)           -> divisors[k]
//   global_clipnorm:           g * clip_norm * min(1 / ||all||, 1 / clip_norm)  -> global_scale
//                              (NaN for every gradient when ||all|| is not finite, as TF does)
//
// One workgroup. Each lane takes every WORKGROUP_SIZE-th variable and adds its partials in order;
// a variable with more than SERIAL_PARTIALS of them (the CPU lists those after the table) is
// added up by the whole workgroup instead, each lane taking every WORKGROUP_SIZE-th partial, then
// the lanes' sums in lane order: on a GPU one thread's chain of loads would cost as much as the
// pass over the gradients. The lanes' totals, added in lane order, give the global total.
// Every order is fixed, so results do not depend on scheduling. NORM_MODE (_interface.wgsl's) picks
// clipnorm (1) or global_clipnorm (2).

// Per variable of the step: where its partials start and how many there are.
struct VariableTiles {
  first: u32,
  count: u32,
}

// `variables[k]` for variable k < count; then `large` entries whose `first` is the index of a
// variable with more than SERIAL_PARTIALS partials, ascending.
struct VariableTable {
  count: u32,
  large: u32,
  pad0: u32,
  pad1: u32,
  variables: array<VariableTiles>,
}

// Partials a lane adds alone; above this the workgroup adds them (src/_kernels/kernels.ts sets it).
override SERIAL_PARTIALS: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> variable_table: VariableTable;
@group(0) @binding(2) var<storage, read> partials: array<f32>;
// divisors[k] for clipnorm; global_scale for global_clipnorm.
@group(0) @binding(3) var<storage, read_write> norms: Norms;

// From the bits: WGSL lets implementations assume there are no NaNs.
fn is_nan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

var<workgroup> large_sum: f32;

// Variable k's clipnorm divisor from its sum of squares.
fn write_divisor(k: u32, sum: f32, clip_norm: f32) {
  // A NaN in the gradient makes its norm NaN, and tf.maximum (TF 2.4+) propagates it, so that
  // every element of the clipped gradient is NaN; WGSL's max may return the other operand.
  let norm = sqrt(sum);
  let divisor = select(max(norm, clip_norm), norm, is_nan(sum));
  // 0 only for an all-zero gradient with clipnorm 0: divide by 1, giving 0 (TF gives 0/0).
  norms.divisors[k] = select(divisor, 1.0, divisor == 0.0);
}

// The sum of `v`'s partials by the whole workgroup, for every lane: each lane adds every
// WORKGROUP_SIZE-th partial, then lane_order_sum adds the lanes.
fn workgroup_sum(v: VariableTiles, lane: u32) -> f32 {
  var sum = 0.0;
  for (var i = lane; i < v.count; i += WORKGROUP_SIZE) {
    sum += partials[v.first + i];
  }
  let total = lane_order_sum(lane, sum);
  if (lane == 0u) {
    large_sum = total;
  }
  return workgroupUniformLoad(&large_sum);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn clip_norms(@builtin(local_invocation_index) lane: u32) {
  let clip_norm = params.clip_norm;
  let count = variable_table.count;
  var total = 0.0;
  for (var k = lane; k < count; k += WORKGROUP_SIZE) {
    let v = variable_table.variables[k];
    if (v.count > SERIAL_PARTIALS) {
      continue; // added below
    }
    var sum = 0.0;
    for (var i = 0u; i < v.count; i++) {
      sum += partials[v.first + i];
    }
    if (NORM_MODE == NORM_CLIPNORM) {
      write_divisor(k, sum, clip_norm);
    }
    total += sum;
  }
  // The large variables, one after another, each by the whole workgroup; each sum goes to its
  // variable's lane, after that lane's other variables, in the listed order.
  for (var b = 0u; b < variable_table.large; b++) {
    let k = variable_table.variables[count + b].first;
    let sum = workgroup_sum(variable_table.variables[k], lane);
    if (k % WORKGROUP_SIZE == lane) {
      if (NORM_MODE == NORM_CLIPNORM) {
        write_divisor(k, sum, clip_norm);
      }
      total += sum;
    }
  }
  if (NORM_MODE != NORM_GLOBAL) {
    return;
  }
  let global_sum = lane_order_sum(lane, total);
  if (lane == 0u) {
    let global_norm = sqrt(global_sum);
    // TF: clip_norm * min(1 / norm, 1 / clip_norm), spelled out where a division would be by 0.
    var scale: f32;
    if (!is_finite(global_norm)) {
      // NaN for every gradient, as tf.clip_by_global_norm. Through a `var`: Tint (Dawn) refuses a
      // NaN that constant evaluation would produce.
      var nan_bits = 0x7fc00000u;
      scale = bitcast<f32>(nan_bits);
    } else if (clip_norm == 0.0) {
      scale = 0.0;
    } else if (global_norm == 0.0) {
      scale = clip_norm * (1.0 / clip_norm);
    } else {
      scale = clip_norm * min(1.0 / global_norm, 1.0 / clip_norm);
    }
    norms.global_scale = scale;
  }
}
