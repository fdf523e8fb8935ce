// requires: _interface.wgsl
// requires: _dispatch.wgsl
// requires: _finite.wgsl
// The non-finite check (`skipNonFinite`, and a dynamic loss scale's), as PyTorch's fused
// optimizers and JAX's apply_if_finite do: a step whose gradients hold any NaN or infinity is
// skipped whole, with no readback in the step.
//
//   check_finite   per reduction tile of raw gradients (dense groups, then the staged sparse
//                  values): any element whose exponent bits are all ones sets `state.found`;
//                  `_vec4` reads a store arena four at a time, `_vec4_f16` a float16 store's eight
//   finalize       one thread: counts a skipped step, publishes the verdict and this step's
//                  learning rate to the update kernels (the `Verdict`), resets `found`
//
//   update_loss_scale   (instead of finalize, with a dynamic LossScaleOptimizer) one thread:
//                  Keras's dynamic loss scale update from `state.found`, and the verdict: skip a
//                  non-finite step, and the factor that unscales this step's gradients
//
// The learning rate: the CPU cannot know how many earlier steps the GPU skipped until it reads
// the count back (in the background, every few steps), so it writes lr_t for the iteration counts
// it might be at: lr[j] for j skips it has not seen yet. `finalize` picks the right one.

// Entries of the learning-rate table.
override LR_WINDOW: u32 = 16u;

struct NonFiniteState {
  found: atomic<u32>,
  // Steps skipped since the optimizer was created.
  skipped: u32,
  pad0: u32,
  pad1: u32,
}

struct LrTable {
  // The skipped count the CPU knew when it wrote the table.
  known: u32,
  pad0: u32,
  pad1: u32,
  pad2: u32,
  lr: array<f32>,
}

@group(0) @binding(0) var<storage, read> table: TileTable;
@group(0) @binding(1) var<storage, read> gradients: array<u32>;
// Store arenas (offsets aligned to 16 bytes): four float32s, or eight float16s, per load.
@group(0) @binding(1) var<storage, read> gradients4: array<vec4u>;
@group(0) @binding(2) var<storage, read_write> state: NonFiniteState;

// This workgroup's tile; an empty one past the table's end.
fn check_tile(id: Invocation) -> Tile {
  let t = tile_index(id.group, id.groups);
  if (t >= table.count) {
    return Tile();
  }
  return table.tiles[t];
}

// Whether any lane of `bits` is a NaN or an infinity among its first `inside` (float32 lanes).
fn any_not_finite4(bits: vec4u, inside: vec4<bool>) -> bool {
  let mask = vec4u(0x7f800000u);
  return any(((bits & mask) == mask) & inside);
}

// The same for eight float16s, two per word, the first `n` of them inside.
fn any_not_finite8(words: vec4u, first: u32, n: u32) -> bool {
  let mask = vec4u(0x7c00u);
  let lane = vec4u(first) + vec4u(0u, 2u, 4u, 6u);
  let low = ((words & mask) == mask) & (lane < vec4u(n));
  let high = (((words >> vec4u(16u)) & mask) == mask) & (lane + vec4u(1u) < vec4u(n));
  return any(low | high);
}

// Sets `state.found` when this workgroup saw a non-finite value.
fn report(bad: bool) {
  if (bad) {
    atomicOr(&state.found, 1u);
  }
}

// The check reads a group's reduction table (tiles of up to 32,768 elements, one workgroup each,
// as sum_squares.wgsl): four loads per iteration, coalesced, then the rest one at a time.

@compute @workgroup_size(WORKGROUP_SIZE)
fn check_finite(id: Invocation) {
  let tile = check_tile(id);
  let base = tile.slot_offset;
  let W = WORKGROUP_SIZE;
  var bad = false;
  var i = id.lane;
  for (; i + 3u * W < tile.length; i += 4u * W) {
    // Bits, not floats: WGSL lets implementations assume there are no infinities or NaNs.
    let bits = vec4u(gradients[base + i], gradients[base + i + W], gradients[base + i + 2u * W],
      gradients[base + i + 3u * W]);
    bad = bad | any_not_finite4(bits, vec4(true));
  }
  for (; i < tile.length; i += W) {
    bad = bad | !is_finite_bits(gradients[base + i]);
  }
  report(bad);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn check_finite_vec4(id: Invocation) {
  let tile = check_tile(id);
  let base = tile.slot_offset / 4u;
  let whole = tile.length / 4u;
  let W = WORKGROUP_SIZE;
  let whole_vector = vec4(true);
  var bad = false;
  var i = id.lane;
  for (; i + 3u * W < whole; i += 4u * W) {
    let k = base + i;
    bad = bad | any_not_finite4(gradients4[k], whole_vector) |
      any_not_finite4(gradients4[k + W], whole_vector) |
      any_not_finite4(gradients4[k + 2u * W], whole_vector) |
      any_not_finite4(gradients4[k + 3u * W], whole_vector);
  }
  for (; i < whole; i += W) {
    bad = bad | any_not_finite4(gradients4[base + i], whole_vector);
  }
  // A last vector may reach into the padding after the variable: those lanes do not count.
  if (id.lane == 0u && 4u * whole < tile.length) {
    let inside = vec4u(4u * whole) + vec4u(0u, 1u, 2u, 3u) < vec4u(tile.length);
    bad = bad | any_not_finite4(gradients4[base + whole], inside);
  }
  report(bad);
}

// A float16 store's gradients: element e is half e of the buffer, so a tile (which starts on a
// multiple of 8 elements: store offsets are aligned to 16 bytes of float16) reads 8 per load.
@compute @workgroup_size(WORKGROUP_SIZE)
fn check_finite_vec4_f16(id: Invocation) {
  let tile = check_tile(id);
  let base = tile.slot_offset / 8u;
  let n = tile.length;
  let W = WORKGROUP_SIZE;
  var bad = false;
  var i = id.lane;
  for (; 8u * (i + 3u * W) < n; i += 4u * W) {
    let k = base + i;
    bad = bad | any_not_finite8(gradients4[k], 8u * i, n) |
      any_not_finite8(gradients4[k + W], 8u * (i + W), n) |
      any_not_finite8(gradients4[k + 2u * W], 8u * (i + 2u * W), n) |
      any_not_finite8(gradients4[k + 3u * W], 8u * (i + 3u * W), n);
  }
  for (; 8u * i < n; i += W) {
    bad = bad | any_not_finite8(gradients4[base + i], 8u * i, n);
  }
  report(bad);
}

@group(0) @binding(3) var<storage, read> lr_table: LrTable;
@group(0) @binding(4) var<storage, read_write> verdict: Verdict;

@compute @workgroup_size(1)
fn finalize() {
  let found = atomicLoad(&state.found);
  let j = min(state.skipped - lr_table.known, LR_WINDOW - 1u);
  verdict.skip = found;
  verdict.lr = lr_table.lr[j];
  state.skipped += found;
  atomicStore(&state.found, 0u);
}

// A LossScaleOptimizer's dynamic scale (Keras's _DynamicLossScaleState): `scale` and `good_steps`
// are the GPU's; the CPU writes the others.
struct LossScale {
  scale: f32,
  // Finite steps in a row since the scale last changed (Keras's `counter`).
  good_steps: u32,
  growth_steps: u32,
  // 1 when this step's gradients come from the scaled loss and must be unscaled, 0 otherwise.
  scaled: u32,
}

@group(0) @binding(5) var<storage, read_write> loss_scale: LossScale;

// 1 / s as Keras's float32 reciprocal: WGSL's division may be off by 2.5 ulp, and one Newton step
// brings it to the correctly rounded value where `fma` is fused (WGSL does not promise that; a
// power-of-two scale, every default, is exact either way).
fn reciprocal(s: f32) -> f32 {
  let r = 1.0 / s;
  return fma(r, fma(-s, r, 1.0), r);
}

@compute @workgroup_size(1)
fn update_loss_scale() {
  let finite = atomicLoad(&state.found) == 0u;
  let scale = loss_scale.scale;
  verdict.skip = select(1u, 0u, finite);
  verdict.unscale = select(1.0, reciprocal(scale), loss_scale.scaled != 0u);
  if (!finite) {
    loss_scale.scale = max(scale * 0.5, 1.0);
    loss_scale.good_steps = 0u;
  } else if (loss_scale.good_steps >= loss_scale.growth_steps - 1u) { // Keras: counter + 1 >= steps
    // Keras keeps the old scale when the doubled one would overflow.
    let grown = scale * 2.0;
    if (is_finite(grown)) {
      loss_scale.scale = grown;
    }
    loss_scale.good_steps = 0u;
  } else {
    loss_scale.good_steps += 1u;
  }
  atomicStore(&state.found, 0u);
}
