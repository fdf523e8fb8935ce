// requires: _interface.wgsl
// requires: _dispatch.wgsl
// Float16 gradient values given in GPU buffers (IndexedSlices with `valuesDtype: "float16"`),
// widened to float32 in the step's value staging, so that the sparse kernels, the finiteness check
// and the norms read one format. The widening is exact. Each tile is a run of one range: its
// halves from `slot_offset` (packed two per word, `unpack2x16float`, core WGSL) to its values from
// `var_offset`. One dispatch per step, whatever the number of ranges.

@group(0) @binding(0) var<storage, read> table: TileTable;
@group(0) @binding(1) var<storage, read> halves: array<u32>;
@group(0) @binding(2) var<storage, read_write> values: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn widen_f16(id: Invocation) {
  let t = tile_index(id.group, id.groups);
  if (t >= table.count) {
    return;
  }
  let tile = table.tiles[t];
  for (var i = id.lane; i < tile.length; i += WORKGROUP_SIZE) {
    let h = tile.slot_offset + i;
    values[tile.var_offset + i] = unpack2x16float(halves[h >> 1u])[h & 1u];
  }
}
