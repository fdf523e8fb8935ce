// requires: _prelude.wgsl
// Norm clipping, pass 1 of 2: the sum of squares of each tile's gradient (unscaled, then after
// clipvalue, which Keras applies first), written to the step's `partials` at
// `table.partial_base + tile`. Tiles never straddle two variables, so pass 2 can add up each
// variable's partials in a fixed order: the result does not depend on scheduling.
//
// A workgroup takes TILES consecutive tiles; each thread sums its elements of each tile in order,
// then one thread per tile adds the threads' sums in lane order. One barrier per workgroup rather
// than a tree's eight per tile: barriers are what CPU adapters pay most for here. Two entry
// points, as in adagrad_dense.wgsl: `sum_squares` reads one element at a time, `sum_squares_vec4`
// four, for store arenas (16-byte-aligned variables; lanes past a variable's end add nothing).

const TILES: u32 = 8u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> table: TileTable;
@group(0) @binding(2) var<storage, read> gradients: array<f32>;
@group(0) @binding(2) var<storage, read> gradients4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;
// A LossScaleOptimizer's unscaling factor: the norms are those of the unscaled gradients.
@group(0) @binding(4) var<storage, read> verdict: Verdict;

// The threads' sums, tile-major: sums[k * WORKGROUP_SIZE + lane] for the workgroup's tile k.
var<workgroup> sums: array<f32, TILES * WORKGROUP_SIZE>;

fn square(g: f32) -> f32 {
  let x = clip_by_value(g, params, verdict.unscale);
  return x * x;
}

// Adds each tile's thread sums in lane order and writes the tile's partial.
fn reduce(first: u32, lane: u32) {
  workgroupBarrier();
  let t = first + lane;
  if (lane < TILES && t < table.count) {
    var total = 0.0;
    for (var k = 0u; k < WORKGROUP_SIZE; k++) {
      total += sums[lane * WORKGROUP_SIZE + k];
    }
    partials[table.partial_base + t] = total;
  }
}

// Tile `t`, or an empty one past the table's end.
fn tile_at(t: u32) -> Tile {
  if (t < table.count) {
    return table.tiles[t];
  }
  return Tile();
}

// This thread's share of `tile`, one element per load.
fn scalar_sum(tile: Tile, lane: u32) -> f32 {
  var sum = 0.0;
  for (var i = lane; i < tile.length; i += WORKGROUP_SIZE) {
    sum += square(gradients[tile.slot_offset + i]);
  }
  return sum;
}

// This thread's share of `tile`, four elements per load. Only a tile's last vector can reach past
// the variable: its extra lanes add 0.
fn vector_sum(tile: Tile, lane: u32) -> f32 {
  var sum = 0.0;
  for (var i = lane; i < (tile.length + 3u) / 4u; i += WORKGROUP_SIZE) {
    let g = gradients4[tile.slot_offset / 4u + i];
    let inside = vec4u(4u * i) + vec4u(0u, 1u, 2u, 3u) < vec4u(tile.length);
    sum += square(g.x);
    sum += select(0.0, square(g.y), inside.y);
    sum += select(0.0, square(g.z), inside.z);
    sum += select(0.0, square(g.w), inside.w);
  }
  return sum;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sum_squares(wg: Workgroup, @builtin(local_invocation_index) lane: u32) {
  let first = workgroup_index(wg) * TILES;
  for (var k = 0u; k < TILES; k++) {
    sums[k * WORKGROUP_SIZE + lane] = scalar_sum(tile_at(first + k), lane);
  }
  reduce(first, lane);
}

// As `sum_squares`, for store arenas.
@compute @workgroup_size(WORKGROUP_SIZE)
fn sum_squares_vec4(wg: Workgroup, @builtin(local_invocation_index) lane: u32) {
  let first = workgroup_index(wg) * TILES;
  for (var k = 0u; k < TILES; k++) {
    sums[k * WORKGROUP_SIZE + lane] = vector_sum(tile_at(first + k), lane);
  }
  reduce(first, lane);
}
