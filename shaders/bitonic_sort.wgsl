// requires: _interface.wgsl
// requires: _dispatch.wgsl
// Sparse gradients, step 2: a bitonic sort of the step's (key, position) pairs, ascending. The
// positions are unique, so the order is total and the result does not depend on scheduling:
// duplicates of a row end up side by side in the order the caller gave them, which is the order
// TensorFlow's CPU segment sum adds them in.
//
// The network for a power-of-two length P runs as:
//   sort_block                 every block of BLOCK pairs sorted in workgroup memory (k <= BLOCK)
//   then for k = 2 BLOCK .. P: sort_step for each j = k/2 .. BLOCK (one compare-exchange across
//                              the whole array per dispatch), then sort_merge (j < BLOCK, in
//                              workgroup memory)
// Each dispatch reads its (k, j) from a uniform table at a dynamic offset, written once.

// Pairs per workgroup in the block kernels (`local_pairs`): two per thread.
override BLOCK: u32 = 512u;

struct SortStep {
  k: u32,
  j: u32,
  pad0: u32,
  pad1: u32,
}

@group(0) @binding(0) var<uniform> step: SortStep;
// sparse_keys.wgsl's entry table: only `padded`, the sort's length, is read.
@group(0) @binding(1) var<storage, read> table: EntryTable;
@group(0) @binding(2) var<storage, read_write> pairs: array<vec2u>;

var<workgroup> local_pairs: array<vec2u, BLOCK>;

fn before(a: vec2u, b: vec2u) -> bool {
  return a.x < b.x || (a.x == b.x && a.y < b.y);
}

// The lower element of compare-exchange pair `t` for distance j: pairs are (i, i + j).
fn lower(t: u32, j: u32) -> u32 {
  return ((t & ~(j - 1u)) << 1u) | (t & (j - 1u));
}

// Compare-exchange steps j_first, j_first/2, ..., 1 of stage k on the block at `base`; the
// direction comes from the global index, so blocks alternate where k spans several.
fn block_steps(base: u32, lane: u32, k: u32, j_first: u32) {
  for (var j = j_first; j > 0u; j >>= 1u) {
    let i = lower(lane, j);
    let l = i + j;
    let ascending = ((base + i) & k) == 0u;
    let a = local_pairs[i];
    let b = local_pairs[l];
    if (before(b, a) == ascending) {
      local_pairs[i] = b;
      local_pairs[l] = a;
    }
    workgroupBarrier();
  }
}

fn load(base: u32, lane: u32) {
  local_pairs[lane] = pairs[base + lane];
  local_pairs[lane + WORKGROUP_SIZE] = pairs[base + lane + WORKGROUP_SIZE];
  workgroupBarrier();
}

fn store(base: u32, lane: u32) {
  pairs[base + lane] = local_pairs[lane];
  pairs[base + lane + WORKGROUP_SIZE] = local_pairs[lane + WORKGROUP_SIZE];
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sort_block(wg: Workgroup, @builtin(local_invocation_index) lane: u32) {
  let base = workgroup_index(wg) * BLOCK;
  if (base >= table.padded) {
    return;
  }
  load(base, lane);
  for (var k = 2u; k <= BLOCK; k <<= 1u) {
    block_steps(base, lane, k, k >> 1u);
  }
  store(base, lane);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sort_merge(wg: Workgroup, @builtin(local_invocation_index) lane: u32) {
  let base = workgroup_index(wg) * BLOCK;
  if (base >= table.padded) {
    return;
  }
  load(base, lane);
  block_steps(base, lane, step.k, BLOCK >> 1u);
  store(base, lane);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sort_step(
  @builtin(global_invocation_id) id: vec3u,
  @builtin(num_workgroups) groups: vec3u,
) {
  let t = id.y * groups.x * WORKGROUP_SIZE + id.x;
  if (t >= table.padded / 2u) {
    return;
  }
  let i = lower(t, step.j);
  let l = i + step.j;
  let a = pairs[i];
  let b = pairs[l];
  if (before(b, a) == ((i & step.k) == 0u)) {
    pairs[i] = b;
    pairs[l] = a;
  }
}
