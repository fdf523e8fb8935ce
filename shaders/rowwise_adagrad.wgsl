// Row-wise Adagrad (FBGEMM's EXACT_ROWWISE_ADAGRAD, TorchRec's RowWiseAdagrad): one accumulator
// per row instead of per element, for embedding tables whose element-wise accumulator would not
// fit. Per touched row r of width D, with g the row's gradient after Keras's clipping and the sum
// of duplicate rows (sparse_keys.wgsl and bitonic_sort.wgsl put duplicates side by side):
//
//   m[r]      <- m[r] + sum_c(g_c * g_c) / D
//   var[r, c] <- var[r, c] - (lr / (sqrt(m[r]) + epsilon)) * g_c
//
// the multiplier computed once per row, as FBGEMM does. A dense gradient is a tile flagged
// `identity`: every row once, in order, no sort. One thread per row: it sums the row's squares,
// updates the row's accumulator, then walks the row again to update the variable.

override WORKGROUP_SIZE: u32 = 256u;
override EPSILON_INSIDE_SQRT: bool = false;
override CLIP_VALUE: bool = false;
override NORM_MODE: u32 = 0u;
// The opt-in non-finite guard: skip the step when guard.wgsl found a NaN or an infinity, and take
// the learning rate it picked.
override GUARD: bool = false;

struct Params {
  lr: f32,
  epsilon: f32,
  clip_value: f32,
  clip_norm: f32,
}

// As in adagrad_sparse.wgsl, but `start` and `length` count rows (sorted positions), and
// `slot_offset` is where the variable's row accumulators start.
struct SparseTile {
  var_offset: u32,
  slot_offset: u32,
  width: u32,
  variable: u32,
  nnz_base: u32,
  nnz: u32,
  row_base: u32,
  rows: u32,
  value_base: u32,
  start: u32,
  length: u32,
  // 1: a dense gradient; position s is row s and value row s.
  identity: u32,
}

struct SparseTileTable {
  count: u32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
  tiles: array<SparseTile>,
}

struct Norms {
  global_scale: f32,
  // With the non-finite guard (guard.wgsl): 1 to skip this step, and the step's learning rate.
  skip: u32,
  guarded_lr: f32,
  pad2: f32,
  divisors: array<f32>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> table: SparseTileTable;
@group(0) @binding(2) var<storage, read_write> variables: array<f32>;
@group(0) @binding(3) var<storage, read_write> accumulators: array<f32>;
@group(0) @binding(4) var<storage, read> values: array<f32>;
@group(0) @binding(5) var<storage, read> pairs: array<vec2u>;
@group(0) @binding(6) var<storage, read> norms: Norms;

fn clipped(x: f32, norm_divisor: f32) -> f32 {
  var g = x;
  if (CLIP_VALUE) {
    g = clamp(g, -params.clip_value, params.clip_value);
  }
  if (NORM_MODE == 1u) {
    g = (g * params.clip_norm) / norm_divisor;
  } else if (NORM_MODE == 2u) {
    g = g * norms.global_scale;
  }
  return g;
}

// Column `column` of the row's gradient: its duplicates (sorted positions first .. the key's last),
// clipped, summed in the caller's order; or the dense gradient's element.
fn gradient(tile: SparseTile, first: u32, key: u32, column: u32, norm_divisor: f32) -> f32 {
  if (tile.identity == 1u) {
    return clipped(values[tile.value_base + (first - tile.nnz_base) * tile.width + column], norm_divisor);
  }
  let end = tile.nnz_base + tile.nnz;
  var g = 0.0;
  for (var q = first; q < end && pairs[q].x == key; q++) {
    let x = values[tile.value_base + (pairs[q].y - tile.nnz_base) * tile.width + column];
    g += clipped(x, norm_divisor);
  }
  return g;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn rowwise_update(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) workgroups: vec3u,
  @builtin(local_invocation_index) lane: u32,
) {
  let t = workgroup.y * workgroups.x + workgroup.x;
  if (t >= table.count) {
    return;
  }
  let tile = table.tiles[t];
  if (lane >= tile.length) {
    return;
  }
  var lr = params.lr;
  if (GUARD) {
    if (norms.skip != 0u) {
      return;
    }
    lr = norms.guarded_lr;
  }
  let s = tile.start + lane;
  let p = tile.nnz_base + s;
  var row = s;
  var key = 0u;
  if (tile.identity == 0u) {
    key = pairs[p].x;
    row = key - tile.row_base;
    // Out of range (skipped and counted by sparse_keys), or not the first of its duplicates.
    if (row >= tile.rows || (s > 0u && pairs[p - 1u].x == key)) {
      return;
    }
  }
  var norm_divisor = 1.0;
  if (NORM_MODE == 1u) {
    norm_divisor = norms.divisors[tile.variable];
  }
  var squares = 0.0;
  for (var c = 0u; c < tile.width; c++) {
    let g = gradient(tile, p, key, c, norm_divisor);
    squares += g * g;
  }
  let slot = tile.slot_offset + row;
  let m = accumulators[slot] + squares / f32(tile.width);
  accumulators[slot] = m;
  var denominator = sqrt(m) + params.epsilon;
  if (EPSILON_INSIDE_SQRT) {
    denominator = sqrt(m + params.epsilon);
  }
  let multiplier = lr / denominator;
  let base = tile.var_offset + row * tile.width;
  for (var c = 0u; c < tile.width; c++) {
    variables[base + c] = variables[base + c] - multiplier * gradient(tile, p, key, c, norm_divisor);
  }
}
