// The spam classifier's own forward and backward passes: logistic regression over hashed unigram
// and bigram features. Weights: a table of hashed-feature rows and a bias, both in one arena of the
// optimizer's VariableStore, bound here read-only.
//
// `train` (one thread per message of the batch): z = bias + sum of the message's feature weights,
// p = sigmoid(z), logistic loss; then the gradient, d = (p - y) / batch, written
//   - as IndexedSlices: one (feature, d) pair per feature of the message, at the message's place
//     in the batch's slice list, so the table's gradient touches only the batch's rows;
//   - per message, for `bias_grad` to add up into the bias's dense gradient.
// `predict` (one thread per listed message): z, for accuracy and loss on held-out messages.

struct Info {
  // Messages in this batch (or listed for `predict`).
  count: u32,
  // Where this batch's losses go in `out`'s loss area (the position in the epoch).
  loss_base: u32,
  // Element offsets of the table and the bias in `weights`, and of the bias in `gradients`.
  table_offset: u32,
  bias_offset: u32,
  bias_grad_offset: u32,
  // Offsets in `dataset`: feature ids, then labels (float bits), after the n + 1 row starts.
  ids_base: u32,
  labels_base: u32,
  pad0: u32,
}

@group(0) @binding(0) var<uniform> info: Info;
// Row starts (messages + 1), then every message's feature ids, then labels.
@group(0) @binding(1) var<storage, read> dataset: array<u32>;
// The batch: message ids (count), then each message's first slice position (count + 1).
@group(0) @binding(2) var<storage, read> batch: array<u32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
@group(0) @binding(4) var<storage, read_write> slice_indices: array<u32>;
@group(0) @binding(5) var<storage, read_write> slice_values: array<f32>;
// Per message of the batch: d (train) or z (predict); then the epoch's losses.
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<storage, read_write> gradients: array<f32>;

const MAX_BATCH: u32 = 4096u;

fn logit(m: u32) -> f32 {
  var z = weights[info.bias_offset];
  for (var k = dataset[m]; k < dataset[m + 1u]; k++) {
    z += weights[info.table_offset + dataset[info.ids_base + k]];
  }
  return z;
}

// Message b of the batch: its loss goes to `out`, and its gradient d = (p - y) / batch, the
// return value, to `out[b]` (for the bias).
fn message(b: u32) -> f32 {
  let m = batch[b];
  let z = logit(m);
  let y = bitcast<f32>(dataset[info.labels_base + m]);
  let p = 1.0 / (1.0 + exp(-z));
  // log(1 + exp(-z)) + (1 - y) z, without overflow for large |z|.
  out[MAX_BATCH + info.loss_base + b] = max(z, 0.0) - z * y + log(1.0 + exp(-abs(z)));
  let d = (p - y) / f32(info.count);
  out[b] = d;
  return d;
}

@compute @workgroup_size(64)
fn train(@builtin(global_invocation_id) id: vec3u) {
  let b = id.x;
  if (b >= info.count) {
    return;
  }
  let d = message(b);
  let m = batch[b];
  var at = batch[info.count + b];
  for (var k = dataset[m]; k < dataset[m + 1u]; k++) {
    slice_indices[at] = dataset[info.ids_base + k];
    slice_values[at] = d;
    at++;
  }
}

var<workgroup> sums: array<f32, 256>;

// The sum of the batch's d, in a fixed order (deterministic), in lane 0.
fn batch_sum(lane: u32) -> f32 {
  var sum = 0.0;
  for (var b = lane; b < info.count; b += 256u) {
    sum += out[b];
  }
  sums[lane] = sum;
  workgroupBarrier();
  for (var width = 128u; width > 0u; width /= 2u) {
    if (lane < width) {
      sums[lane] += sums[lane + width];
    }
    workgroupBarrier();
  }
  return sums[0];
}

// The bias's gradient: the sum of the batch's d.
@compute @workgroup_size(256)
fn bias_grad(@builtin(local_invocation_index) lane: u32) {
  let sum = batch_sum(lane);
  if (lane == 0u) {
    gradients[info.bias_grad_offset] = sum;
  }
}

@compute @workgroup_size(64)
fn predict(@builtin(global_invocation_id) id: vec3u) {
  let b = id.x;
  if (b < info.count) {
    out[b] = logit(batch[b]);
  }
}

// --mixed-precision: float16 gradients of the loss times the LossScaleOptimizer's current scale.
// The slice values are halves packed two per word; neighbouring slices may belong to two
// messages (two threads), so each ORs its half into a word the step cleared first. The bias's
// gradient is the first half of its float16 region, at word `bias_grad_offset`.
@group(0) @binding(5) var<storage, read_write> slice_halves: array<atomic<u32>>;
@group(0) @binding(7) var<storage, read_write> gradient_words: array<u32>;
@group(0) @binding(8) var<storage, read> loss_scale: f32;

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

@compute @workgroup_size(64)
fn train_f16(@builtin(global_invocation_id) id: vec3u) {
  let b = id.x;
  if (b >= info.count) {
    return;
  }
  let bits = half_bits(message(b) * loss_scale);
  let m = batch[b];
  var at = batch[info.count + b];
  for (var k = dataset[m]; k < dataset[m + 1u]; k++) {
    slice_indices[at] = dataset[info.ids_base + k];
    atomicOr(&slice_halves[at / 2u], bits << (16u * (at % 2u)));
    at++;
  }
}

// As `bias_grad`, into the float16 region, scaled.
@compute @workgroup_size(256)
fn bias_grad_f16(@builtin(local_invocation_index) lane: u32) {
  let sum = batch_sum(lane);
  if (lane == 0u) {
    gradient_words[info.bias_grad_offset] = half_bits(sum * loss_scale);
  }
}
