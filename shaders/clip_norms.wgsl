// requires: _prelude.wgsl
// Norm clipping, pass 2 of 2: per variable of the step, the sum of its tiles' partials (in tile
// order), then what the update multiplies and divides by, as TensorFlow's clip ops compute it:
//
//   clipnorm (per variable):   g * clip_norm / max(||g||, clip_norm)           -> divisors[k]
//   global_clipnorm:           g * clip_norm * min(1 / ||all||, 1 / clip_norm)  -> global_scale
//                              (NaN for every gradient when ||all|| is not finite, as TF does)
//
// One workgroup; each lane takes every WORKGROUP_SIZE-th variable, then a fixed-order tree sum
// gives the global total, so results do not depend on scheduling. NORM_MODE (the prelude's)
// picks clipnorm (1) or global_clipnorm (2).

// Per variable of the step: where its partials start and how many there are.
struct VariableTiles {
  first: u32,
  count: u32,
}

struct VariableTable {
  count: u32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
  variables: array<VariableTiles>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> variable_table: VariableTable;
@group(0) @binding(2) var<storage, read> partials: array<f32>;
// divisors[k] for clipnorm; global_scale for global_clipnorm.
@group(0) @binding(3) var<storage, read_write> norms: Norms;

var<workgroup> sums: array<f32, WORKGROUP_SIZE>;

// From the bits: WGSL lets implementations assume there are no NaNs.
fn is_nan(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn clip_norms(@builtin(local_invocation_index) lane: u32) {
  let clip_norm = params.clip_norm;
  var total = 0.0;
  for (var k = lane; k < variable_table.count; k += WORKGROUP_SIZE) {
    let v = variable_table.variables[k];
    var sum = 0.0;
    for (var i = 0u; i < v.count; i++) {
      sum += partials[v.first + i];
    }
    if (NORM_MODE == 1u) {
      // A NaN in the gradient makes its norm NaN, and tf.maximum (TF 2.4+) propagates it, so that
      // every element of the clipped gradient is NaN; WGSL's max may return the other operand.
      let norm = sqrt(sum);
      let divisor = select(max(norm, clip_norm), norm, is_nan(sum));
      // 0 only for an all-zero gradient with clipnorm 0: divide by 1, giving 0 (TF gives 0/0).
      norms.divisors[k] = select(divisor, 1.0, divisor == 0.0);
    }
    total += sum;
  }
  if (NORM_MODE != 2u) {
    return;
  }
  sums[lane] = total;
  workgroupBarrier();
  for (var width = WORKGROUP_SIZE / 2u; width > 0u; width /= 2u) {
    if (lane < width) {
      sums[lane] += sums[lane + width];
    }
    workgroupBarrier();
  }
  if (lane == 0u) {
    let global_norm = sqrt(sums[0]);
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
