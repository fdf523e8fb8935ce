// The streaming-kernel ceiling: the dense vec4 step's loads and stores (read the variable, the
// accumulator and the gradient; write the variable and the accumulator) in the step's layout and
// dispatch shape (bench/_ceilings.ts builds the same tile table, one workgroup per tile of one
// variable, the step's tile size and lanes, four elements per load), with no Adagrad arithmetic:
// one add per stored vector, so that no store writes back the value it loaded and the gradient is
// not dead (a compiler may drop either).

// bench/_ceilings.ts puts shaders/_interface.wgsl and _dispatch.wgsl in front: Tile, TileTable, Invocation,
// tile_index, lane_run (with the step's LANE_BLOCK) and WORKGROUP_SIZE are the step's own.

@group(0) @binding(0) var<storage, read> table: TileTable;
@group(0) @binding(1) var<storage, read_write> variables: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> accumulators: array<vec4f>;
@group(0) @binding(3) var<storage, read> gradients: array<vec4f>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn stream(id: Invocation) {
  let t = tile_index(id.group, id.groups);
  if (t >= table.count) {
    return;
  }
  let tile = table.tiles[t];
  let vectors = (tile.length + 3u) / 4u;
  let run = lane_run(id.lane, vectors);
  for (var i = run.first; i < run.end; i += run.stride) {
    let s = tile.slot_offset / 4u + i;
    let v = tile.var_offset / 4u + i;
    let g = gradients[s];
    accumulators[s] = accumulators[s] + g;
    variables[v] = variables[v] - g;
  }
}
