// Sparse gradients, step 3: Keras's IndexedSlices update, after sparse_keys.wgsl and
// bitonic_sort.wgsl have put each row's duplicates side by side. Per touched row, as Keras does:
//
//   g     <- sum over the row's duplicates, in the caller's order, of clip(value)
//   accum <- accum + g * g
//   var   <- var - (g * lr) / (sqrt(accum) + epsilon)
//
// where clip is clipvalue, then clipnorm (the norm of the raw value rows, duplicates counted
// separately) or global_clipnorm. Only the first of a row's duplicates writes, so each row is
// updated once and rows nobody touched keep their bits. One thread per element of the sorted
// (nnz x width) block: the work grows with nnz x width, not with the table's rows.

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

// A run of at most a few thousand elements of one sparse gradient.
struct SparseTile {
  // Element offsets of the variable's row 0 in `variables` and in `accumulators`.
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
  // Element offset of the entry's first value row in `values`.
  value_base: u32,
  // The tile's elements, row-major over the entry's sorted (nnz x width) block.
  start: u32,
  length: u32,
  pad0: u32,
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

@compute @workgroup_size(WORKGROUP_SIZE)
fn sparse_update(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) workgroups: vec3u,
  @builtin(local_invocation_index) lane: u32,
) {
  let t = workgroup.y * workgroups.x + workgroup.x;
  if (t >= table.count) {
    return;
  }
  let tile = table.tiles[t];
  var lr = params.lr;
  if (GUARD) {
    if (norms.skip != 0u) {
      return;
    }
    lr = norms.guarded_lr;
  }
  var norm_divisor = 1.0;
  if (NORM_MODE == 1u) {
    norm_divisor = norms.divisors[tile.variable];
  }
  let end = tile.nnz_base + tile.nnz;
  for (var e = tile.start + lane; e < tile.start + tile.length; e += WORKGROUP_SIZE) {
    let s = e / tile.width;
    let column = e - s * tile.width;
    let p = tile.nnz_base + s;
    let key = pairs[p].x;
    let row = key - tile.row_base;
    // Out of range (skipped and counted by sparse_keys), or not the first of its duplicates.
    if (row >= tile.rows || (s > 0u && pairs[p - 1u].x == key)) {
      continue;
    }
    var g = 0.0;
    for (var q = p; q < end && pairs[q].x == key; q++) {
      var x = values[tile.value_base + (pairs[q].y - tile.nnz_base) * tile.width + column];
      if (CLIP_VALUE) {
        x = clamp(x, -params.clip_value, params.clip_value);
      }
      if (NORM_MODE == 1u) {
        x = (x * params.clip_norm) / norm_divisor;
      } else if (NORM_MODE == 2u) {
        x = x * norms.global_scale;
      }
      g += x;
    }
    let slot = tile.slot_offset + row * tile.width + column;
    let a = accumulators[slot] + g * g;
    accumulators[slot] = a;
    var denominator = sqrt(a) + params.epsilon;
    if (EPSILON_INSIDE_SQRT) {
      denominator = sqrt(a + params.epsilon);
    }
    let v = tile.var_offset + row * tile.width + column;
    variables[v] = variables[v] - (g * lr) / denominator;
  }
}
