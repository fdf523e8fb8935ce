// requires: _interface.wgsl
// requires: _dispatch.wgsl
// requires: _gradient.wgsl
// requires: _rules.wgsl
// requires: _sparse_update.wgsl
// Row-wise Adagrad (FBGEMM's EXACT_ROWWISE_ADAGRAD, TorchRec's RowWiseAdagrad): one accumulator
// per row instead of per element, for embedding tables whose element-wise accumulator would not
// fit. Per touched row r of width D, with g the row's gradient after Keras's clipping and the sum
// of duplicate rows (sparse_keys.wgsl and bitonic_sort.wgsl put duplicates side by side):
//
//   m[r]      <- m[r] + sum_c(g_c * g_c) / D
//   var[r, c] <- var[r, c] - (lr / (sqrt(m[r]) + epsilon)) * g_c
//
// the multiplier computed once per row, as FBGEMM does. FBGEMM's options (split_precomputation and
// split_post_update of its rowwise_adagrad template), for the touched rows only:
//
//   ROW_DECAY_L2:        m[r] grows by the mean of (g_c + wd * var[r, c])^2, and
//                        var[r, c] <- (1 - multiplier * wd) * var[r, c] - multiplier * g_c
//   ROW_DECAY_DECOUPLED: var[r, c] <- (1 - lr * wd) * var[r, c] - multiplier * g_c
//   MAX_NORM:            a row whose new L2 norm exceeds max_norm is scaled to it.
//
// A dense gradient is a tile flagged `identity`: every row once, in order, no sort. The row-wise
// rule's arguments (`rule_args`): x the weight decay, y max_norm; its gradients are prepared by
// RULE's `rule_prepare` (Keras 2's: as is). One thread per row: it sums the row's squares,
// updates the row's accumulator, then walks the row again to update the variable. The tiles'
// `start` and `length` count rows (sorted positions), and `slot_offset` is where the variable's row
// accumulators start.
//
// `rowwise_update_lanes` is the same update with FBGEMM's layout, a GPU's: a row over ROW_LANES
// lanes (a power of two dividing the workgroup), columns contiguous across them, the row's sums
// added in lane order behind barriers (`row_sum`). Chosen per adapter (DispatchShape.rowLanes in
// src/_kernels/kernels.ts): a CPU adapter pays for each barrier, and ran it 4.5x slower.

fn clipped(x: f32, divisor: f32) -> f32 {
  return clip(x, params, verdict.unscale, divisor, norms.global_scale);
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

// The row's step size and FBGEMM's decay factor of its weights, from its new accumulator `m`.
struct RowStep {
  multiplier: f32,
  correction: f32,
}

fn row_step(m: f32, lr: f32, wd: f32) -> RowStep {
  let multiplier = lr / denominator(m, params.epsilon);
  var correction = 1.0;
  if (ROW_DECAY == ROW_DECAY_L2) {
    correction = 1.0 - multiplier * wd;
  } else if (ROW_DECAY == ROW_DECAY_DECOUPLED) {
    correction = 1.0 - lr * wd;
  }
  return RowStep(multiplier, correction);
}

// Column c of the row at `base`, stepped and stored; its new weight.
fn step_column(
  step: RowStep,
  base: u32,
  c: u32,
  tile: SparseTile,
  first: u32,
  key: u32,
  norm_divisor: f32,
) -> f32 {
  var x = load_variable(base + c);
  if (ROW_DECAY != ROW_DECAY_NONE) {
    x = step.correction * x;
  }
  x = x - step.multiplier * gradient(tile, first, key, c, norm_divisor);
  store_variable(base + c, x);
  return x;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn rowwise_update(id: Invocation) {
  let tile = sparse_tile(id);
  if (id.lane >= tile.length || keys_outside(tile, tile.start, tile.start + tile.length - 1u)) {
    return;
  }
  let lr = step_lr(params, verdict);
  let s = tile.start + id.lane;
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
  if (NORM_MODE == NORM_CLIPNORM) {
    norm_divisor = norms.divisors[tile.variable];
  }
  let base = tile.var_offset + row * tile.width;
  let args = rule_args(params);
  let wd = args.x;
  var squares = 0.0;
  for (var c = 0u; c < tile.width; c++) {
    var g = gradient(tile, p, key, c, norm_divisor);
    if (ROW_DECAY == ROW_DECAY_L2) {
      g += wd * load_variable(base + c); // for the statistic only
    }
    squares += g * g;
  }
  let slot = tile.slot_offset + row;
  let m = load_accumulator(slot) + squares / f32(tile.width);
  store_accumulator(slot, m);
  let step = row_step(m, lr, wd);
  var norm_squared = 0.0;
  for (var c = 0u; c < tile.width; c++) {
    let w = step_column(step, base, c, tile, p, key, norm_divisor);
    norm_squared += w * w;
  }
  if (MAX_NORM) {
    let norm = sqrt(norm_squared);
    if (norm > args.y) {
      let scale = args.y / norm;
      for (var c = 0u; c < tile.width; c++) {
        store_variable(base + c, load_variable(base + c) * scale);
      }
    }
  }
}

// Lanes per row of rowwise_update_lanes.
override ROW_LANES: u32 = 16u;

// The sum of `value` over the `lanes` lanes of `lane`'s row, in lane order, for every lane of the
// row. Call it in uniform control flow: two barriers (the second before lane_values is written
// again).
fn row_sum(lane: u32, lanes: u32, value: f32) -> f32 {
  lane_values[lane] = value;
  workgroupBarrier();
  let first = lane / lanes * lanes;
  var total = 0.0;
  for (var k = first; k < first + lanes; k++) {
    total += lane_values[k];
  }
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn rowwise_update_lanes(w: Workgroup, @builtin(local_invocation_index) lane: u32) {
  let tile = sparse_tile_at(workgroup_index(w));
  let lanes = clamp(ROW_LANES, 1u, WORKGROUP_SIZE);
  let column = lane % lanes;
  let s = tile.start + lane / lanes;
  var working = lane / lanes < tile.length &&
    !keys_outside(tile, tile.start, tile.start + tile.length - 1u);
  let p = tile.nnz_base + s;
  var row = s;
  var key = 0u;
  if (working && tile.identity == 0u) {
    key = pairs[p].x;
    row = key - tile.row_base;
    // Out of range (skipped and counted by sparse_keys), or not the first of its duplicates.
    working = row < tile.rows && !(s > 0u && pairs[p - 1u].x == key);
  }
  var norm_divisor = 1.0;
  if (NORM_MODE == NORM_CLIPNORM) {
    norm_divisor = norms.divisors[tile.variable];
  }
  let lr = step_lr(params, verdict);
  let base = tile.var_offset + row * tile.width;
  let args = rule_args(params);
  let wd = args.x;
  let slot = tile.slot_offset + row;
  var squares = 0.0;
  var before = 0.0;
  if (working) {
    for (var c = column; c < tile.width; c += lanes) {
      var g = gradient(tile, p, key, c, norm_divisor);
      if (ROW_DECAY == ROW_DECAY_L2) {
        g += wd * load_variable(base + c); // for the statistic only
      }
      squares += g * g;
    }
    before = load_accumulator(slot); // every lane of the row, before its first lane stores
  }
  let m = before + row_sum(lane, lanes, squares) / f32(tile.width);
  let step = row_step(m, lr, wd);
  var norm_squared = 0.0;
  if (working) {
    if (column == 0u) {
      store_accumulator(slot, m);
    }
    for (var c = column; c < tile.width; c += lanes) {
      let x = step_column(step, base, c, tile, p, key, norm_divisor);
      norm_squared += x * x;
    }
  }
  if (MAX_NORM) {
    let norm = sqrt(row_sum(lane, lanes, norm_squared));
    if (working && norm > args.y) {
      let scale = args.y / norm;
      for (var c = column; c < tile.width; c += lanes) {
        store_variable(base + c, load_variable(base + c) * scale);
      }
    }
  }
}
