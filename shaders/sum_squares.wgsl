// Norm clipping, pass 1 of 2: the sum of squares of each tile's gradient (after clipvalue, which
// Keras applies first), one workgroup per tile, written to the step's `partials` at
// `table.partial_base + tile`. Tiles never straddle two variables, so pass 2 can add up each
// variable's partials in a fixed order: the result does not depend on scheduling.

override WORKGROUP_SIZE: u32 = 256u;
// Clamp gradients to [-clip_value, clip_value] first (Keras `clipvalue`).
override CLIP_VALUE: bool = false;

struct Params {
  lr: f32,
  epsilon: f32,
  clip_value: f32,
  clip_norm: f32,
}

struct Tile {
  var_offset: u32,
  slot_offset: u32,
  length: u32,
  variable: u32,
}

struct TileTable {
  count: u32,
  partial_base: u32,
  pad0: u32,
  pad1: u32,
  tiles: array<Tile>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> table: TileTable;
@group(0) @binding(2) var<storage, read> gradients: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;

var<workgroup> sums: array<f32, WORKGROUP_SIZE>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn sum_squares(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) workgroups: vec3u,
  @builtin(local_invocation_index) lane: u32,
) {
  let t = workgroup.y * workgroups.x + workgroup.x;
  // Uniform across the workgroup, so the barriers below stay in uniform control flow.
  let in_range = t < table.count;
  var sum = 0.0;
  if (in_range) {
    let tile = table.tiles[t];
    for (var i = lane; i < tile.length; i += WORKGROUP_SIZE) {
      var g = gradients[tile.slot_offset + i];
      if (CLIP_VALUE) {
        g = clamp(g, -params.clip_value, params.clip_value);
      }
      sum += g * g;
    }
  }
  sums[lane] = sum;
  workgroupBarrier();
  for (var width = WORKGROUP_SIZE / 2u; width > 0u; width /= 2u) {
    if (lane < width) {
      sums[lane] += sums[lane + width];
    }
    workgroupBarrier();
  }
  if (in_range && lane == 0u) {
    partials[table.partial_base + t] = sums[0];
  }
}
