// Logistic regression, forward and backward, for examples/train_logistic_regression.ts.
// The dataset (x: samples x features, y: 0/1 labels) stays on the GPU; a batch is a run of
// `order`, the epoch's shuffled sample indices.

struct Batch {
  start: u32,    // first position in `order`
  size: u32,     // samples in the batch (or in the whole set, for `evaluate`)
  features: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> batch: Batch;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> order: array<u32>;
@group(0) @binding(4) var<storage, read> w: array<f32>;
@group(0) @binding(5) var<storage, read> b: array<f32>;
@group(0) @binding(6) var<storage, read_write> residual: array<f32>;

@group(1) @binding(0) var<storage, read_write> w_grad: array<f32>;
@group(1) @binding(1) var<storage, read_write> b_grad: array<f32>;
@group(1) @binding(2) var<storage, read_write> stats: array<f32>;

fn logit(n: u32) -> f32 {
  var z = b[0];
  for (var j = 0u; j < batch.features; j++) {
    z += w[j] * x[n * batch.features + j];
  }
  return z;
}

// d(mean loss)/dz for each sample of the batch: (sigmoid(z) - y) / batch size.
@compute @workgroup_size(64)
fn residuals(@builtin(global_invocation_id) id: vec3u) {
  let i = id.x;
  if (i >= batch.size) {
    return;
  }
  let n = order[batch.start + i];
  let p = 1.0 / (1.0 + exp(-logit(n)));
  residual[i] = (p - y[n]) / f32(batch.size);
}

// One thread per weight (and one for the bias): the batch sum of residual * input.
@compute @workgroup_size(64)
fn gradients(@builtin(global_invocation_id) id: vec3u) {
  let j = id.x;
  if (j > batch.features) {
    return;
  }
  var sum = 0.0;
  for (var i = 0u; i < batch.size; i++) {
    let input = select(x[order[batch.start + i] * batch.features + j], 1.0, j == batch.features);
    sum += residual[i] * input;
  }
  if (j < batch.features) {
    w_grad[j] = sum;
  } else {
    b_grad[0] = sum;
  }
}

// Per sample: the cross-entropy loss and whether the prediction is right (samples in order).
@compute @workgroup_size(64)
fn evaluate(@builtin(global_invocation_id) id: vec3u) {
  let n = id.x;
  if (n >= batch.size) {
    return;
  }
  let z = logit(n);
  let label = y[n];
  stats[2u * n] = max(z, 0.0) - z * label + log(1.0 + exp(-abs(z)));
  stats[2u * n + 1u] = select(0.0, 1.0, (z > 0.0) == (label > 0.5));
}
