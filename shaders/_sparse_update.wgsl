// The bindings of the two sparse updates (adagrad_sparse.wgsl, rowwise_adagrad.wgsl), which share
// one bind group layout (`sparseUpdate` in src/_kernels/shader_interface.ts): the staged value rows
// and the sorted (key, position) pairs in place of a dense update's gradients. A row-wise group's
// dense update binds its gradient arena as `values` and a read-only stand-in for `pairs`.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> table: SparseTileTable;
@group(0) @binding(2) var<storage, read_write> variables: array<f32>;
@group(0) @binding(3) var<storage, read_write> accumulators: array<f32>;
@group(0) @binding(4) var<storage, read> values: array<f32>;
@group(0) @binding(5) var<storage, read> norms: Norms;
@group(0) @binding(6) var<storage, read> verdict: Verdict;
@group(0) @binding(7) var<storage, read> pairs: array<vec2u>;
// A RULE_SUMS rule's sums of gradients, laid out as the accumulators (a stand-in for the others).
@group(0) @binding(8) var<storage, read_write> gradient_sums: array<f32>;

// Every load and store of the weights (WEIGHT_FORMAT) and the slots (STATE_FORMAT), as in
// adagrad_dense.wgsl. float32's, the only format yet, is the binding's own element.
fn load_variable(i: u32) -> f32 {
  return variables[i];
}
fn store_variable(i: u32, x: f32) {
  variables[i] = x;
}
fn load_accumulator(i: u32) -> f32 {
  return accumulators[i];
}
fn store_accumulator(i: u32, x: f32) {
  accumulators[i] = x;
}
fn load_gradient_sum(i: u32) -> f32 {
  return gradient_sums[i];
}
fn store_gradient_sum(i: u32, x: f32) {
  gradient_sums[i] = x;
}

// This workgroup's tile; an empty one (no elements, no rows) past the table's end or when the step
// is skipped, as the dense update's `workgroup_tile`.
fn sparse_tile(id: Invocation) -> SparseTile {
  return sparse_tile_at(tile_index(id.group, id.groups));
}

// Tile `t`, or an empty one, as `sparse_tile`; for kernels with barriers (`Workgroup`).
fn sparse_tile_at(t: u32) -> SparseTile {
  if (t >= table.count || skip_step(verdict)) {
    return SparseTile();
  }
  return table.tiles[t];
}

// Whether no sorted position in [first, last] of `tile` holds a key of its rows. A window of a
// variable past one binding takes only its own rows (its tiles' row_base and rows); the keys are
// sorted, so a tile whose last key is below the window, or whose first key is past it, has nothing
// to do and its workgroup leaves after two loads. A dense (identity) tile has no keys.
fn keys_outside(tile: SparseTile, first: u32, last: u32) -> bool {
  if (tile.identity == 1u || tile.length == 0u) {
    return false;
  }
  let low = pairs[tile.nnz_base + first].x;
  let high = pairs[tile.nnz_base + last].x;
  return high < tile.row_base || low >= tile.row_base + tile.rows;
}
