// requires: _interface.wgsl
// requires: _dispatch.wgsl
// requires: _gradient.wgsl
// requires: _rules.wgsl
// Norm clipping, pass 1 of 2: the sum of squares of each tile's gradient (unscaled, then after
// clipvalue, which Keras applies first), written to the step's `partials` at
// `table.partial_base + tile`. Tiles never straddle two variables, so pass 2 can add up each
// variable's partials in a fixed order: the result does not depend on scheduling.
//
// The table is a group's reduction table: tiles of up to 32,768 elements (REDUCE_TILE_ELEMENTS in
// src/_kernels/kernels.ts), eight GPU update tiles, one workgroup each. A tile and a workgroup each cost a
// fixed amount of work, and on CPU adapters that work is most of a pass that only reads: one
// long tile ran 1.4x as fast as eight short ones in one workgroup (lavapipe, 1 x 16M).
//
// Each thread reads four vectors per iteration, coalesced (lane-strided), and keeps four running
// sums (the vec4's lanes); then _dispatch.wgsl's lane_order_sum adds the threads' sums. Every order
// is fixed: results are bit-identical from run to run. Three entry points, as in
// adagrad_dense.wgsl: `sum_squares` reads one element per load, `sum_squares_vec4` four, for store
// arenas (16-byte-aligned variables; lanes past a variable's end add nothing),
// `sum_squares_vec4_f16` four halves of a float16 store.

// The source holds gradients already prepared (Keras 3's accumulated mean, which the update's
// PHASE_MEAN wrote): no unscaling.
override PREPARED: bool = false;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> table: TileTable;
@group(0) @binding(2) var<storage, read> gradients: array<f32>;
@group(0) @binding(2) var<storage, read> gradients4: array<vec4f>;
// A float16 store's gradients (`sum_squares_vec4_f16`): four halves per 8-byte load.
@group(0) @binding(2) var<storage, read> gradients_half4: array<vec2u>;
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;
// A LossScaleOptimizer's unscaling factor: the norms are those of the unscaled gradients.
@group(0) @binding(4) var<storage, read> verdict: Verdict;

// This workgroup's tile, or an empty one past the table's end.
fn workgroup_tile(t: u32) -> Tile {
  if (t < table.count) {
    return table.tiles[t];
  }
  return Tile();
}

// The squares of four raw gradients after _gradient.wgsl's `prepared` and clipvalue, lane by lane
// (the same operations: times `unscale`, the rule's `rule_prepare`, then the clamp).
fn squares(g: vec4f, unscale: f32) -> vec4f {
  var x = g;
  if (!PREPARED && LOSS_SCALE != LOSS_SCALE_NONE) {
    x *= unscale;
  }
  if (!PREPARED) {
    let args = rule_args(params);
    x = vec4f(rule_prepare(x.x, args), rule_prepare(x.y, args), rule_prepare(x.z, args),
      rule_prepare(x.w, args));
  }
  if (CLIP_VALUE) {
    x = clamp(x, vec4f(-params.clip_value), vec4f(params.clip_value));
  }
  return x * x;
}

// The squares of vectors i, i + W, i + 2W and i + 3W, added in a fixed order.
fn squares_of_four(a: vec4f, b: vec4f, c: vec4f, d: vec4f, unscale: f32) -> vec4f {
  return (squares(a, unscale) + squares(b, unscale)) + (squares(c, unscale) + squares(d, unscale));
}

// Which lanes of vector i of a tile of `length` elements are inside it.
fn inside(i: u32, length: u32) -> vec4<bool> {
  return vec4u(4u * i) + vec4u(0u, 1u, 2u, 3u) < vec4u(length);
}

// Adds the threads' sums in lane order and writes tile t's partial.
fn reduce(t: u32, lane: u32, sum: vec4f) {
  let total = lane_order_sum(lane, (sum.x + sum.y) + (sum.z + sum.w));
  if (lane == 0u && t < table.count) {
    partials[table.partial_base + t] = total;
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sum_squares(wg: Workgroup, @builtin(local_invocation_index) lane: u32) {
  let t = workgroup_index(wg);
  let tile = workgroup_tile(t);
  let unscale = verdict.unscale;
  let base = tile.slot_offset;
  let W = WORKGROUP_SIZE;
  var sum = vec4f();
  var i = lane;
  for (; i + 3u * W < tile.length; i += 4u * W) {
    let g = vec4f(gradients[base + i], gradients[base + i + W], gradients[base + i + 2u * W],
      gradients[base + i + 3u * W]);
    sum += squares(g, unscale);
  }
  for (; i < tile.length; i += W) {
    sum.x += squares(vec4f(gradients[base + i]), unscale).x;
  }
  reduce(t, lane, sum);
}

// As `sum_squares`, for store arenas: vector i holds elements 4i to 4i + 3 of the tile.
@compute @workgroup_size(WORKGROUP_SIZE)
fn sum_squares_vec4(wg: Workgroup, @builtin(local_invocation_index) lane: u32) {
  let t = workgroup_index(wg);
  let tile = workgroup_tile(t);
  let unscale = verdict.unscale;
  let base = tile.slot_offset / 4u;
  let whole = tile.length / 4u;
  let W = WORKGROUP_SIZE;
  var sum = vec4f();
  var i = lane;
  for (; i + 3u * W < whole; i += 4u * W) {
    let k = base + i;
    sum += squares_of_four(gradients4[k], gradients4[k + W], gradients4[k + 2u * W],
      gradients4[k + 3u * W], unscale);
  }
  for (; i < whole; i += W) {
    sum += squares(gradients4[base + i], unscale);
  }
  // A last vector that reaches past the variable's end into the padding: its lanes inside count.
  if (lane == 0u && 4u * whole < tile.length) {
    sum += select(vec4f(), squares(gradients4[base + whole], unscale), inside(whole, tile.length));
  }
  reduce(t, lane, sum);
}

// Vector k of a float16 store's gradients: four halves, widened exactly.
fn halves(k: u32) -> vec4f {
  let h = gradients_half4[k];
  return vec4f(unpack2x16float(h.x), unpack2x16float(h.y));
}

// As `sum_squares_vec4`, for a store with float16 gradients.
@compute @workgroup_size(WORKGROUP_SIZE)
fn sum_squares_vec4_f16(wg: Workgroup, @builtin(local_invocation_index) lane: u32) {
  let t = workgroup_index(wg);
  let tile = workgroup_tile(t);
  let unscale = verdict.unscale;
  let base = tile.slot_offset / 4u;
  let whole = tile.length / 4u;
  let W = WORKGROUP_SIZE;
  var sum = vec4f();
  var i = lane;
  for (; i + 3u * W < whole; i += 4u * W) {
    let k = base + i;
    sum += squares_of_four(halves(k), halves(k + W), halves(k + 2u * W), halves(k + 3u * W), unscale);
  }
  for (; i < whole; i += W) {
    sum += squares(halves(base + i), unscale);
  }
  if (lane == 0u && 4u * whole < tile.length) {
    sum += select(vec4f(), squares(halves(base + whole), unscale), inside(whole, tile.length));
  }
  reduce(t, lane, sum);
}
