// Gradient of the mean squared error of a 4x4 transform M (column-major, as wgpu-matrix stores it)
// over point correspondences p_i -> q_i (homogeneous, w = 1):
//   L = 1/N sum_i |M p_i - q_i|^2,   dL/dM[r][c] = 2/N sum_i (M p_i - q_i)[r] p_i[c]
// One thread per entry of M; each walks the points. Writes the gradient into M's gradient region:
// float32 (`gradient`), or float16 of the scaled loss (`gradient_f16`, --mixed-precision).

struct Info {
  points: u32,
  // Element offsets of M in `weights` and of its gradient in `gradients` (in 32-bit words).
  matrix: u32,
  gradient: u32,
  pad0: u32,
}

@group(0) @binding(0) var<uniform> info: Info;
// p_i then q_i, 4 floats each.
@group(0) @binding(1) var<storage, read> pairs: array<vec4f>;
@group(0) @binding(2) var<storage, read> weights: array<f32>;
@group(0) @binding(3) var<storage, read_write> gradients: array<f32>;

fn entry(r: u32, c: u32) -> f32 {
  return weights[info.matrix + c * 4u + r];
}

// dL/dM for entry e (column e / 4, row e % 4).
fn entry_gradient(e: u32) -> f32 {
  let c = e / 4u;
  let r = e % 4u;
  var sum = 0.0;
  for (var i = 0u; i < info.points; i++) {
    let p = pairs[2u * i];
    let q = pairs[2u * i + 1u];
    let mp = entry(r, 0u) * p.x + entry(r, 1u) * p.y + entry(r, 2u) * p.z + entry(r, 3u) * p.w;
    sum += (mp - q[r]) * p[c];
  }
  return 2.0 * sum / f32(info.points);
}

@compute @workgroup_size(16)
fn gradient(@builtin(local_invocation_index) e: u32) {
  gradients[info.gradient + e] = entry_gradient(e);
}

// --mixed-precision: the gradient of the loss times the LossScaleOptimizer's current scale, as
// float16 (a store with gradDtype "float16"), two halves per word: entry e is half e of M's
// gradient region, which starts at word `info.gradient`.
@group(0) @binding(3) var<storage, read_write> gradient_words: array<u32>;
@group(0) @binding(4) var<storage, read> loss_scale: f32;

var<workgroup> scaled: array<f32, 16>;

// x as float16 bits. WGSL leaves pack2x16float indeterminate past float16's range, so overflow
// (and NaN) are written explicitly: the loss scale's check must see them. Bits, not comparisons of
// floats: WGSL lets implementations assume there are no infinities or NaNs.
fn half_bits(x: f32) -> u32 {
  let bits = bitcast<u32>(x);
  let magnitude = bits & 0x7fffffffu;
  let sign = (bits >> 16u) & 0x8000u;
  if (magnitude > 0x7f800000u) {
    return sign | 0x7e00u; // NaN
  }
  if (magnitude >= 0x477ff000u) {
    return sign | 0x7c00u; // 65520 and up round to infinity
  }
  return pack2x16float(vec2f(x, 0.0)) & 0xffffu;
}

@compute @workgroup_size(16)
fn gradient_f16(@builtin(local_invocation_index) e: u32) {
  scaled[e] = entry_gradient(e) * loss_scale;
  workgroupBarrier();
  if (e < 8u) {
    gradient_words[info.gradient + e] = half_bits(scaled[2u * e]) |
      (half_bits(scaled[2u * e + 1u]) << 16u);
  }
}
