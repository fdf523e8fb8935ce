// requires: _prelude.wgsl
// Fused dense Adagrad update, Keras 2.x (OptimizerV2) semantics, as TensorFlow's
// ResourceApplyAdagradV2 CPU kernel computes it:
//
//   accum <- accum + g * g
//   var   <- var - (g * lr) / (sqrt(accum) + epsilon)     (new accum; epsilon outside the sqrt)
//
// One dispatch updates every variable of one arena. WGSL cannot index an array of buffers, so the
// variables live side by side in one buffer and a tile table maps each workgroup to a run of at
// most a few thousand elements of one variable. Variables that got no gradient this step have no
// tiles, so they cost nothing and their accumulators keep their bits.
//
// Three entry points, the same math: `update` loads and stores one element at a time, `update_vec4`
// four, for arenas whose variables all start on 16-byte boundaries (store arenas, whose offsets are
// aligned to at least that), and `update_vec4_f16` is `update_vec4` for a store whose gradients
// are float16 (`gradDtype`), four halves per 8-byte load, unpacked with core WGSL, so it runs on
// every adapter. They view the same bindings with different element types; WGSL allows that
// because no entry point uses two views of one binding.

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> table: TileTable;
@group(0) @binding(2) var<storage, read_write> variables: array<f32>;
@group(0) @binding(3) var<storage, read_write> accumulators: array<f32>;
@group(0) @binding(4) var<storage, read> gradients: array<f32>;
@group(0) @binding(2) var<storage, read_write> variables4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> accumulators4: array<vec4f>;
@group(0) @binding(4) var<storage, read> gradients4: array<vec4f>;
@group(0) @binding(4) var<storage, read> gradients_half4: array<vec2u>;
@group(0) @binding(5) var<storage, read> norms: Norms;
@group(0) @binding(6) var<storage, read> verdict: Verdict;

// This workgroup's tile; an empty one past the table's end or when the step is skipped.
fn workgroup_tile(id: Invocation) -> Tile {
  let t = tile_index(id.group, id.groups);
  if (t >= table.count || skip_step(verdict)) {
    return Tile();
  }
  return table.tiles[t];
}

// What a tile's elements share, read once per tile rather than once per element: the step's
// parameters and learning rate, a loss scale's unscaling factor, clipnorm's divisor for the tile's variable, global_clipnorm's scale.
struct Rates {
  params: Params,
  lr: f32,
  unscale: f32,
  divisor: f32,
  global_scale: f32,
}

fn tile_rates(tile: Tile) -> Rates {
  var divisor = 1.0;
  if (NORM_MODE == NORM_CLIPNORM) {
    divisor = norms.divisors[tile.variable];
  }
  var global_scale = 1.0;
  if (NORM_MODE == NORM_GLOBAL) {
    global_scale = norms.global_scale;
  }
  return Rates(params, step_lr(params, verdict), verdict.unscale, divisor, global_scale);
}

// One element, from its raw gradient: (new accumulator, new variable).
fn element(g: f32, accumulator: f32, variable: f32, r: Rates) -> vec2f {
  let clipped = clip(g, r.params, r.unscale, r.divisor, r.global_scale);
  return adagrad(clipped, accumulator, variable, r.lr, r.params.epsilon);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn update(id: Invocation) {
  let tile = workgroup_tile(id);
  let rates = tile_rates(tile);
  // Consecutive lanes touch consecutive elements, so every pass over the tile is coalesced.
  for (var i = id.lane; i < tile.length; i += WORKGROUP_SIZE) {
    let s = tile.slot_offset + i;
    let v = tile.var_offset + i;
    let updated = element(gradients[s], accumulators[s], variables[v], rates);
    accumulators[s] = updated.x;
    variables[v] = updated.y;
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn update_vec4(id: Invocation) {
  let tile = workgroup_tile(id);
  let rates = tile_rates(tile);
  // Offsets are multiples of 4 elements here (checked on the CPU); so are tile starts.
  let vectors = (tile.length + 3u) / 4u;
  for (var i = id.lane; i < vectors; i += WORKGROUP_SIZE) {
    update_four(tile, i, gradients4[tile.slot_offset / 4u + i], rates);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn update_vec4_f16(id: Invocation) {
  let tile = workgroup_tile(id);
  let rates = tile_rates(tile);
  let vectors = (tile.length + 3u) / 4u;
  for (var i = id.lane; i < vectors; i += WORKGROUP_SIZE) {
    // Element e of the arena is half e of the gradients: vector i's four are one 8-byte load.
    let h = gradients_half4[tile.slot_offset / 4u + i];
    update_four(tile, i, vec4f(unpack2x16float(h.x), unpack2x16float(h.y)), rates);
  }
}

// Vector i of `tile` from its four raw gradients.
fn update_four(tile: Tile, i: u32, g: vec4f, rates: Rates) {
  let s = tile.slot_offset / 4u + i;
  let v = tile.var_offset / 4u + i;
  let a = accumulators4[s];
  let x = variables4[v];
  // The scalar kernel's math, lane by lane (static lanes: no vector indexing in the loop).
  let u0 = element(g.x, a.x, x.x, rates);
  let u1 = element(g.y, a.y, x.y, rates);
  let u2 = element(g.z, a.z, x.z, rates);
  let u3 = element(g.w, a.w, x.w, rates);
  // A tile's last vector may reach past its variable's end into the alignment padding, which
  // belongs to no variable: those lanes keep their bits.
  let inside = vec4u(4u * i) + vec4u(0u, 1u, 2u, 3u) < vec4u(tile.length);
  accumulators4[s] = select(a, vec4f(u0.x, u1.x, u2.x, u3.x), inside);
  variables4[v] = select(x, vec4f(u0.y, u1.y, u2.y, u3.y), inside);
}
