// requires: _prelude.wgsl
// The opt-in non-finite guard (`skipNonFinite`), as PyTorch's fused optimizers and Optax's
// apply_if_finite do: a step whose gradients hold any NaN or infinity is skipped whole, with no
// readback in the step.
//
//   check_finite   per tile of raw gradients (dense groups, then the staged sparse values): any
//                  element whose exponent bits are all ones sets `guard.found`
//   finalize       one thread: counts a skipped step, publishes the verdict and this step's
//                  learning rate to the update kernels (the `Verdict`), resets `found`
//
//   update_loss_scale   (instead of finalize, with a dynamic LossScaleOptimizer) one thread:
//                  Keras's dynamic loss scale update from `guard.found`, and the verdict: skip a
//                  non-finite step, and the factor that unscales this step's gradients
//
// The learning rate: the CPU cannot know how many earlier steps the GPU skipped until it reads
// the count back (in the background, every few steps), so it writes lr_t for the iteration counts
// it might be at: lr[j] for j skips it has not seen yet. `finalize` picks the right one.

// Entries of the learning-rate table.
override LR_WINDOW: u32 = 16u;

struct Guard {
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
@group(0) @binding(2) var<storage, read_write> guard: Guard;

@compute @workgroup_size(WORKGROUP_SIZE)
fn check_finite(id: Invocation) {
  let t = tile_index(id.group, id.groups);
  if (t >= table.count) {
    return;
  }
  let tile = table.tiles[t];
  var bad = false;
  for (var i = id.lane; i < tile.length; i += WORKGROUP_SIZE) {
    // Bits, not floats: WGSL lets implementations assume there are no infinities or NaNs.
    bad = bad || !is_finite_bits(gradients[tile.slot_offset + i]);
  }
  if (bad) {
    atomicOr(&guard.found, 1u);
  }
}

@group(0) @binding(3) var<storage, read> lr_table: LrTable;
@group(0) @binding(4) var<storage, read_write> verdict: Verdict;

@compute @workgroup_size(1)
fn finalize() {
  let found = atomicLoad(&guard.found);
  let j = min(guard.skipped - lr_table.known, LR_WINDOW - 1u);
  verdict.skip = found;
  verdict.lr = lr_table.lr[j];
  guard.skipped += found;
  atomicStore(&guard.found, 0u);
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

// 1 / s, correctly rounded: WGSL's division may be off by 2.5 ulp, and Keras multiplies by the
// float32 reciprocal. One Newton step with fused multiply-adds fixes the last bit.
fn reciprocal(s: f32) -> f32 {
  let r = 1.0 / s;
  return fma(r, fma(-s, r, 1.0), r);
}

@compute @workgroup_size(1)
fn update_loss_scale() {
  let finite = atomicLoad(&guard.found) == 0u;
  let scale = loss_scale.scale;
  verdict.skip = select(1u, 0u, finite);
  verdict.unscale = select(1.0, reciprocal(scale), loss_scale.scaled != 0u);
  if (!finite) {
    loss_scale.scale = max(scale * 0.5, 1.0);
    loss_scale.good_steps = 0u;
  } else if (loss_scale.good_steps + 1u >= loss_scale.growth_steps) {
    // Keras keeps the old scale when the doubled one would overflow.
    let grown = scale * 2.0;
    if (is_finite(grown)) {
      loss_scale.scale = grown;
    }
    loss_scale.good_steps = 0u;
  } else {
    loss_scale.good_steps += 1u;
  }
  atomicStore(&guard.found, 0u);
}
