// adagrad_dense.wgsl with four elements per load and store (vec4), for arenas whose variables
// all start on 16-byte boundaries (store arenas, whose offsets are aligned to at least that). A
// tile's last vector may reach past its variable's end into the alignment padding that follows,
// which belongs to no variable: those lanes keep their old values. The math per element is the
// scalar kernel's, Keras 2.x (OptimizerV2) semantics, as TensorFlow's ResourceApplyAdagradV2 CPU
// kernel computes it:
//
//   accum <- accum + g * g
//   var   <- var - (g * lr) / (sqrt(accum) + epsilon)     (new accum; epsilon outside the sqrt)
//
// One dispatch updates every variable of one arena. WGSL cannot index an array of buffers, so the
// variables live side by side in one buffer and a tile table maps each workgroup to a run of at
// most a few thousand elements of one variable. Variables that got no gradient this step have no
// tiles, so they cost nothing and their accumulators keep their bits.

// Threads per workgroup; fixed at pipeline creation.
override WORKGROUP_SIZE: u32 = 256u;
// Opt-in rule of tf.keras 2.11+, Keras 3, TF.js and Optax: var -= lr * g / sqrt(accum + eps).
override EPSILON_INSIDE_SQRT: bool = false;
// Keras's clipping, in Keras's order: clipvalue, then clipnorm (1) or global_clipnorm (2).
override CLIP_VALUE: bool = false;
override NORM_MODE: u32 = 0u;
// The opt-in non-finite guard: skip the step when guard.wgsl found a NaN or an infinity, and take
// the learning rate it picked.
override GUARD: bool = false;

// Per-step values, written once per step by the CPU (no readback needed to compute them).
struct Params {
  lr: f32,
  epsilon: f32,
  clip_value: f32,
  clip_norm: f32,
}

// Element offsets: `var_offset` indexes `variables`, `slot_offset` indexes `gradients` and
// `accumulators`. Store variables have equal offsets (slot arenas mirror the variable arena);
// variables that live in the caller's own buffer do not.
struct Tile {
  var_offset: u32,
  slot_offset: u32,
  length: u32,
  variable: u32,
}

struct TileTable {
  count: u32,
  partial_base: u32,
  pad1: u32,
  pad2: u32,
  tiles: array<Tile>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> table: TileTable;
@group(0) @binding(2) var<storage, read_write> variables: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> accumulators: array<vec4f>;
@group(0) @binding(4) var<storage, read> gradients: array<vec4f>;
@group(0) @binding(5) var<storage, read> norms: Norms;

// Written by clip_norms.wgsl and guard.wgsl (see adagrad_dense.wgsl).
struct Norms {
  global_scale: f32,
  skip: u32,
  guarded_lr: f32,
  pad2: f32,
  divisors: array<f32>,
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn update_vec4(
  @builtin(workgroup_id) workgroup: vec3u,
  @builtin(num_workgroups) workgroups: vec3u,
  @builtin(local_invocation_index) lane: u32,
) {
  let t = workgroup.y * workgroups.x + workgroup.x;
  if (t >= table.count) {
    return;
  }
  let tile = table.tiles[t];
  var lr = params.lr;
  if (GUARD) {
    if (norms.skip != 0u) {
      return;
    }
    lr = norms.guarded_lr;
  }
  let epsilon = params.epsilon;
  var norm_divisor = 1.0;
  if (NORM_MODE == 1u) {
    norm_divisor = norms.divisors[tile.variable];
  }
  // Offsets are multiples of 4 elements here (checked on the CPU); so are tile starts.
  let vectors = (tile.length + 3u) / 4u;
  for (var i = lane; i < vectors; i += WORKGROUP_SIZE) {
    let s = tile.slot_offset / 4u + i;
    var g = gradients[s];
    if (CLIP_VALUE) {
      g = clamp(g, vec4f(-params.clip_value), vec4f(params.clip_value));
    }
    if (NORM_MODE == 1u) {
      g = (g * params.clip_norm) / norm_divisor;
    } else if (NORM_MODE == 2u) {
      g = g * norms.global_scale;
    }
    let old_a = accumulators[s];
    let a = old_a + g * g;
    let v = tile.var_offset / 4u + i;
    let old_v = variables[v];
    var denominator = sqrt(a) + epsilon;
    if (EPSILON_INSIDE_SQRT) {
      denominator = sqrt(a + epsilon);
    }
    let updated = old_v - (g * lr) / denominator;
    // Lanes past the variable's end (only in a tile's last vector) keep their bits.
    let inside = vec4u(4u * i) + vec4u(0u, 1u, 2u, 3u) < vec4u(tile.length);
    accumulators[s] = select(old_a, a, inside);
    variables[v] = select(old_v, updated, inside);
  }
}
