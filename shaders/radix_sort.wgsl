// requires: _interface.wgsl
// requires: _dispatch.wgsl
// Sparse gradients, step 2 for large steps: a stable LSD radix sort of the step's (key, position)
// pairs by key, RADIX_BITS bits per pass over the key bits in use (20 for a million rows). The
// pairs come from sparse_keys.wgsl in position order and every pass is stable, so duplicates of a
// row end up side by side in the order the caller gave them: the order the bitonic sort gives
// (it breaks ties by position), so results are bit-identical whichever sort ran. Per pass:
//
//   radix_histogram   per block of BLOCK pairs, how many have each digit
//   radix_scan        one workgroup: exclusive prefix sums of the counts, digit-major, so
//                     histogram[d * blocks + b] is where block b's pairs of digit d go
//   radix_scatter     per block: each pair to its place; within a block, each thread holds ITEMS
//                     consecutive pairs and the threads' counts are scanned in workgroup memory,
//                     so pairs keep their order
//
// Passes alternate between two buffers; each dispatch reads its pass from a uniform table at a
// dynamic offset, written once. Everything is integer arithmetic in a fixed order: deterministic.

// Key bits per pass; the CPU picks them, with WORKGROUP_SIZE, so that `offsets` fits the
// device's workgroup memory.
override RADIX_BITS: u32 = 4u;
override DIGITS: u32 = 1u << RADIX_BITS;
// Consecutive pairs per thread (a block is WORKGROUP_SIZE * ITEMS pairs).
override ITEMS: u32 = 32u;

struct RadixPass {
  // The digit's lowest key bit, and the blocks of WORKGROUP_SIZE * ITEMS pairs.
  shift: u32,
  blocks: u32,
}

@group(0) @binding(0) var<uniform> pass_: RadixPass;
// sparse_keys.wgsl's entry table: `total`, the pairs to sort.
@group(0) @binding(1) var<storage, read> table: EntryTable;
@group(0) @binding(2) var<storage, read> pairs_in: array<vec2u>;
@group(0) @binding(3) var<storage, read_write> histogram: array<u32>;
@group(0) @binding(4) var<storage, read_write> pairs_out: array<vec2u>;

var<workgroup> partials: array<u32, WORKGROUP_SIZE>;
// Per digit, per thread (digit-major): the thread's count, then where its pairs of that digit go.
var<workgroup> offsets: array<u32, DIGITS * WORKGROUP_SIZE>;
var<workgroup> digit_base: array<u32, DIGITS>;

fn digit_of(key: u32) -> u32 {
  return (key >> pass_.shift) & (DIGITS - 1u);
}

fn block_size() -> u32 {
  return WORKGROUP_SIZE * ITEMS;
}

// Inclusive prefix sums of `partials`, by one thread: WORKGROUP_SIZE additions cost less than
// the barriers of a parallel scan, which CPU adapters pay dearly for. In uniform control flow.
fn scan_partials(lane: u32) {
  if (lane == 0u) {
    var running = 0u;
    for (var t = 0u; t < WORKGROUP_SIZE; t++) {
      running += partials[t];
      partials[t] = running;
    }
  }
  workgroupBarrier();
}

// Each thread counts its ITEMS consecutive pairs per digit in its own column of `offsets`: no
// atomics, which CPU adapters serialise.
fn count_digits(first: u32, end: u32, lane: u32) {
  for (var d = 0u; d < DIGITS; d++) {
    offsets[d * WORKGROUP_SIZE + lane] = 0u;
  }
  for (var i = first; i < end; i++) {
    offsets[digit_of(pairs_in[i].x) * WORKGROUP_SIZE + lane] += 1u;
  }
}

// The first pair a thread holds, and one past its last.
fn thread_pairs(block_index: u32, lane: u32) -> vec2u {
  let first = block_index * block_size() + lane * ITEMS;
  let in_range = block_index < pass_.blocks && first < table.total;
  return select(vec2u(0u), vec2u(first, min(first + ITEMS, table.total)), in_range);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn radix_histogram(wg: Workgroup, @builtin(local_invocation_index) lane: u32) {
  let block_index = workgroup_index(wg);
  let range = thread_pairs(block_index, lane);
  count_digits(range.x, range.y, lane);
  workgroupBarrier();
  if (block_index < pass_.blocks) {
    for (var d = lane; d < DIGITS; d += WORKGROUP_SIZE) {
      var total = 0u;
      for (var t = 0u; t < WORKGROUP_SIZE; t++) {
        total += offsets[d * WORKGROUP_SIZE + t];
      }
      histogram[d * pass_.blocks + block_index] = total;
    }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn radix_scan(@builtin(local_invocation_index) lane: u32) {
  let n = DIGITS * pass_.blocks;
  let chunk = (n + WORKGROUP_SIZE - 1u) / WORKGROUP_SIZE;
  let start = min(lane * chunk, n);
  let end = min(start + chunk, n);
  var sum = 0u;
  for (var i = start; i < end; i++) {
    sum += histogram[i];
  }
  partials[lane] = sum;
  workgroupBarrier();
  scan_partials(lane);
  var running = partials[lane] - sum;
  for (var i = start; i < end; i++) {
    let count = histogram[i];
    histogram[i] = running;
    running += count;
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn radix_scatter(wg: Workgroup, @builtin(local_invocation_index) lane: u32) {
  let block_index = workgroup_index(wg);
  // Uniform across the workgroup, so every barrier below is reached by all threads.
  let in_range = block_index < pass_.blocks;
  let range = thread_pairs(block_index, lane);
  // Counted in workgroup memory rather than in private arrays, which CPU adapters keep in memory
  // anyway when they are indexed by a digit.
  count_digits(range.x, range.y, lane);
  workgroupBarrier();
  // Exclusive prefix sums over `offsets`, digit-major: each thread takes DIGITS consecutive
  // entries. Then offsets[d][t] counts the block's pairs of a smaller digit, or of digit d held by
  // a thread before t.
  var sum = 0u;
  for (var j = 0u; j < DIGITS; j++) {
    sum += offsets[lane * DIGITS + j];
  }
  partials[lane] = sum;
  workgroupBarrier();
  scan_partials(lane);
  var running = partials[lane] - sum;
  for (var j = 0u; j < DIGITS; j++) {
    let count = offsets[lane * DIGITS + j];
    offsets[lane * DIGITS + j] = running;
    running += count;
  }
  workgroupBarrier();
  // Where each digit's pairs go: the block's place for the digit, less where the digit starts in
  // the block (each thread then moves its own column on as it places pairs).
  if (in_range) {
    for (var d = lane; d < DIGITS; d += WORKGROUP_SIZE) {
      digit_base[d] = histogram[d * pass_.blocks + block_index] - offsets[d * WORKGROUP_SIZE];
    }
  }
  workgroupBarrier();
  for (var i = range.x; i < range.y; i++) {
    let pair = pairs_in[i];
    let slot = digit_of(pair.x) * WORKGROUP_SIZE + lane;
    pairs_out[digit_base[digit_of(pair.x)] + offsets[slot]] = pair;
    offsets[slot] += 1u;
  }
}
