// requires: _prelude.wgsl
// Norm clipping, pass 1 of 2: the sum of squares of each tile's gradient (after clipvalue, which
// Keras applies first), one workgroup per tile, written to the step's `partials` at
// `table.partial_base + tile`. Tiles never straddle two variables, so pass 2 can add up each
// variable's partials in a fixed order: the result does not depend on scheduling.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> table: TileTable;
@group(0) @binding(2) var<storage, read> gradients: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;

var<workgroup> sums: array<f32, WORKGROUP_SIZE>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn sum_squares(
  @builtin(workgroup_id) group: vec3u,
  @builtin(num_workgroups) groups: vec3u,
  @builtin(local_invocation_index) lane: u32,
) {
  let t = tile_index(group, groups);
  // Uniform across the workgroup, so the barriers below stay in uniform control flow.
  let in_range = t < table.count;
  var sum = 0.0;
  if (in_range) {
    let tile = table.tiles[t];
    for (var i = lane; i < tile.length; i += WORKGROUP_SIZE) {
      let g = clip_by_value(gradients[tile.slot_offset + i], params);
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
