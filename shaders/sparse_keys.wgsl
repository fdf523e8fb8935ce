// requires: _interface.wgsl
// Sparse gradients, step 1: one sort key per index of the step. The indices of every sparse
// gradient of the step lie end to end in `indices`; entry k's rows are keyed from `row_base`, so
// one sort orders every variable's rows at once and duplicates of a row become neighbours. An
// index that is out of range (a negative int32 reads as a huge u32) gets the key one past the
// entry's last row, which the update skips, and is counted in `skipped`, as TensorFlow's GPU
// kernel skips such rows. The sort runs over a power-of-two length; the tail gets the largest key.

@group(0) @binding(0) var<storage, read> table: EntryTable;
@group(0) @binding(1) var<storage, read> indices: array<u32>;
// (key, position in the concatenation): positions are unique, so the sort's order is total.
@group(0) @binding(2) var<storage, read_write> pairs: array<vec2u>;
@group(0) @binding(3) var<storage, read_write> skipped: atomic<u32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn sparse_keys(
  @builtin(global_invocation_id) id: vec3u,
  @builtin(num_workgroups) workgroups: vec3u,
) {
  let i = id.y * workgroups.x * WORKGROUP_SIZE + id.x;
  if (i >= table.padded) {
    return;
  }
  if (i >= table.total) {
    pairs[i] = vec2u(0xffffffffu, i);
    return;
  }
  // The entry holding i: the last whose first index is at most i (entries are in index order).
  var lo = 0u;
  var hi = table.count - 1u;
  while (lo < hi) {
    let mid = (lo + hi + 1u) / 2u;
    if (table.entries[mid].nnz_base <= i) {
      lo = mid;
    } else {
      hi = mid - 1u;
    }
  }
  let entry = table.entries[lo];
  let index = indices[i];
  var key = entry.row_base + index;
  if (index >= entry.rows) {
    atomicAdd(&skipped, 1u);
    key = entry.row_base + entry.rows;
  }
  pairs[i] = vec2u(key, i);
}
