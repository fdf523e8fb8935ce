// requires: _prelude.wgsl
// Fused dense Adagrad update. With Keras 2.x's rule (OptimizerV2), as TensorFlow's
// ResourceApplyAdagradV2 CPU kernel computes it:
//
//   accum <- accum + g * g
//   var   <- var - (g * lr) / (sqrt(accum) + epsilon)     (new accum; epsilon outside the sqrt)
//
// Keras 3's and PyTorch's rules (RULE, the prelude's `adagrad`) change the expression and add
// their options in the same pass: Keras 3's decoupled weight decay before the step, its moving
// average after it (the `averages` slot) and its gradient accumulation (the `gradient_sums` slot,
// PHASE below); PyTorch's per-variable learning rate, L2 weight decay and `maximize`.
// ProximalAdagrad's L1 and L2 are in `adagrad`; AdagradDA keeps the sum of its gradients in the
// `gradient_sums` slot and writes the variable without reading it.
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
// Keras 3's `average` (EMA) and `gradient_accumulator` slots (AdagradDA's `gradient_accumulator`
// too), laid out as the accumulators; a step without them binds a small stand-in.
@group(0) @binding(7) var<storage, read_write> averages: array<f32>;
@group(0) @binding(8) var<storage, read_write> gradient_sums: array<f32>;
@group(0) @binding(7) var<storage, read_write> averages4: array<vec4f>;
@group(0) @binding(8) var<storage, read_write> gradient_sums4: array<vec4f>;

// What this dispatch does with ACCUMULATE (Phase in src/_kernels/specialisation.ts): a whole
// update (the gradients' sum, this call's included, divided by the steps, then the step, the sum
// reset); a call that only adds its gradients to the sum; or an update in two dispatches when the
// mean must be clipped by norm: MEAN writes it into the sum, the norms are taken of it, APPLY
// steps with it and resets the sum. Without ACCUMULATE, always PHASE_STEP.
override PHASE: u32 = 0u;
const PHASE_STEP: u32 = 0u;
const PHASE_ADD: u32 = 1u;
const PHASE_MEAN: u32 = 2u;
const PHASE_APPLY: u32 = 3u;

// This workgroup's tile; an empty one past the table's end or when the step is skipped.
fn workgroup_tile(id: Invocation) -> Tile {
  let t = tile_index(id.group, id.groups);
  if (t >= table.count || skip_step(verdict)) {
    return Tile();
  }
  return table.tiles[t];
}

// What a tile's elements share, read once per tile rather than once per element: the step's
// parameters and learning rate (PyTorch's: the variable's own), a loss scale's unscaling factor,
// clipnorm's divisor for the tile's variable, global_clipnorm's scale, whether weight decay applies.
struct Rates {
  params: Params,
  lr: f32,
  unscale: f32,
  divisor: f32,
  global_scale: f32,
  decay: bool,
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
  var lr = step_lr(params, verdict);
  if (RULE == RULE_TORCH) {
    lr = torch_lr(lr, params, tile.lag);
  }
  return Rates(params, lr, verdict.unscale, divisor, global_scale, tile.decay != 0u);
}

// One element's slots; those the specialisation lacks are not read and stay 0.
struct Element {
  variable: f32,
  accumulator: f32,
  average: f32,
  gradient_sum: f32,
}

// Whether this dispatch reads and writes the variables and accumulators (not MEAN, which only
// sums; not ADD, which only sums and, with EMA, averages).
fn steps() -> bool {
  return !ACCUMULATE || PHASE == PHASE_STEP || PHASE == PHASE_APPLY;
}

// Whether the gradient sums are read and written: Keras 3's accumulation, AdagradDA's sums.
fn has_gradient_sums() -> bool {
  return ACCUMULATE || RULE == RULE_ADAGRAD_DA;
}

// Whether the variables are read: to step (AdagradDA recomputes them without), or for the moving
// average.
fn reads_variables() -> bool {
  return (steps() && RULE != RULE_ADAGRAD_DA) || (EMA && PHASE == PHASE_ADD);
}

// Whether the variables are written: when stepped, or overwritten by their averages.
fn writes_variables(params: Params) -> bool {
  return steps() || (reads_variables() && EMA && params.ema_overwrite != 0u);
}

// One element from its raw gradient `g` and its slots before: its slots after.
fn element(g: f32, e: Element, r: Rates) -> Element {
  var out = e;
  var clipped: f32;
  if (ACCUMULATE) {
    if (PHASE == PHASE_ADD) {
      out.gradient_sum = e.gradient_sum + prepared(g, r.params, r.unscale);
      return moving_average(out, r);
    }
    // Keras 3: `(g + acc_g) / steps`, then clipped.
    var mean = e.gradient_sum;
    if (PHASE != PHASE_APPLY) {
      mean = (prepared(g, r.params, r.unscale) + e.gradient_sum) / r.params.accumulation_steps;
    }
    if (PHASE == PHASE_MEAN) {
      out.gradient_sum = mean;
      return out;
    }
    out.gradient_sum = 0.0;
    clipped = clip_prepared(mean, r.params, r.divisor, r.global_scale);
  } else {
    clipped = clip(g, r.params, r.unscale, r.divisor, r.global_scale);
  }
  if (RULE == RULE_ADAGRAD_DA) {
    let da = adagrad_da(clipped, e.gradient_sum, e.accumulator, r.lr, r.params);
    out.gradient_sum = da.x;
    out.accumulator = da.y;
    out.variable = da.z;
    return out;
  }
  var x = e.variable;
  // Keras 3's decoupled weight decay, `variable - variable * wd * lr`, before the step.
  if (RULE == RULE_KERAS3 && WEIGHT_DECAY && r.decay) {
    x = x - x * r.params.weight_decay * r.lr;
  }
  let updated = adagrad(clipped, e.accumulator, x, r.lr, r.params, r.decay);
  out.accumulator = updated.x;
  out.variable = updated.y;
  return moving_average(out, r);
}

// Keras 3's moving average of the variable after the call: `m * average + (1 - m) * variable`,
// and the variable overwritten by it when the call says so.
fn moving_average(e: Element, r: Rates) -> Element {
  var out = e;
  if (EMA) {
    let m = r.params.ema_momentum;
    out.average = m * e.average + (1.0 - m) * e.variable;
    if (r.params.ema_overwrite != 0u) {
      out.variable = out.average;
    }
  }
  return out;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn update(id: Invocation) {
  let tile = workgroup_tile(id);
  let rates = tile_rates(tile);
  // A GPU's lanes touch consecutive elements, so every pass over the tile is coalesced.
  let run = lane_run(id.lane, tile.length);
  for (var i = run.first; i < run.end; i += run.stride) {
    let s = tile.slot_offset + i;
    let v = tile.var_offset + i;
    var e = Element();
    if (reads_variables()) {
      e.variable = variables[v];
    }
    if (steps()) {
      e.accumulator = accumulators[s];
    }
    if (EMA) {
      e.average = averages[s];
    }
    if (has_gradient_sums()) {
      e.gradient_sum = gradient_sums[s];
    }
    var g = 0.0;
    if (PHASE != PHASE_APPLY) {
      g = gradients[s];
    }
    let out = element(g, e, rates);
    if (steps()) {
      accumulators[s] = out.accumulator;
    }
    if (writes_variables(rates.params)) {
      variables[v] = out.variable;
    }
    if (EMA && PHASE != PHASE_MEAN) {
      averages[s] = out.average;
    }
    if (has_gradient_sums()) {
      gradient_sums[s] = out.gradient_sum;
    }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn update_vec4(id: Invocation) {
  let tile = workgroup_tile(id);
  let rates = tile_rates(tile);
  // Offsets are multiples of 4 elements here (checked on the CPU); so are tile starts.
  let vectors = (tile.length + 3u) / 4u;
  let run = lane_run(id.lane, vectors);
  for (var i = run.first; i < run.end; i += run.stride) {
    var g = vec4f();
    if (PHASE != PHASE_APPLY) {
      g = gradients4[tile.slot_offset / 4u + i];
    }
    update_four(tile, i, g, rates);
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn update_vec4_f16(id: Invocation) {
  let tile = workgroup_tile(id);
  let rates = tile_rates(tile);
  let vectors = (tile.length + 3u) / 4u;
  let run = lane_run(id.lane, vectors);
  for (var i = run.first; i < run.end; i += run.stride) {
    var g = vec4f();
    if (PHASE != PHASE_APPLY) {
      // Element e of the arena is half e of the gradients: vector i's four are one 8-byte load.
      let h = gradients_half4[tile.slot_offset / 4u + i];
      g = vec4f(unpack2x16float(h.x), unpack2x16float(h.y));
    }
    update_four(tile, i, g, rates);
  }
}

// Four elements' slots, as vectors.
struct Elements {
  variable: vec4f,
  accumulator: vec4f,
  average: vec4f,
  gradient_sum: vec4f,
}

// Vector i of `tile` from its four raw gradients.
fn update_four(tile: Tile, i: u32, g: vec4f, rates: Rates) {
  let s = tile.slot_offset / 4u + i;
  let v = tile.var_offset / 4u + i;
  // A tile's last vector may reach past its variable's end into the alignment padding, which
  // belongs to no variable: those lanes keep their bits.
  let inside = vec4u(4u * i) + vec4u(0u, 1u, 2u, 3u) < vec4u(tile.length);
  var e = Elements();
  // AdagradDA reads no variable, except where a vector's padding lanes must keep their bits.
  if (reads_variables() || (RULE == RULE_ADAGRAD_DA && !all(inside))) {
    e.variable = variables4[v];
  }
  if (steps()) {
    e.accumulator = accumulators4[s];
  }
  if (EMA) {
    e.average = averages4[s];
  }
  if (has_gradient_sums()) {
    e.gradient_sum = gradient_sums4[s];
  }
  // The scalar kernel's math, lane by lane (static lanes: no vector indexing in the loop).
  let u0 = element(g.x, Element(e.variable.x, e.accumulator.x, e.average.x, e.gradient_sum.x), rates);
  let u1 = element(g.y, Element(e.variable.y, e.accumulator.y, e.average.y, e.gradient_sum.y), rates);
  let u2 = element(g.z, Element(e.variable.z, e.accumulator.z, e.average.z, e.gradient_sum.z), rates);
  let u3 = element(g.w, Element(e.variable.w, e.accumulator.w, e.average.w, e.gradient_sum.w), rates);
  if (steps()) {
    accumulators4[s] = select(e.accumulator, vec4f(u0.accumulator, u1.accumulator, u2.accumulator, u3.accumulator), inside);
  }
  if (writes_variables(rates.params)) {
    variables4[v] = select(e.variable, vec4f(u0.variable, u1.variable, u2.variable, u3.variable), inside);
  }
  if (EMA && PHASE != PHASE_MEAN) {
    averages4[s] = select(e.average, vec4f(u0.average, u1.average, u2.average, u3.average), inside);
  }
  if (has_gradient_sums()) {
    gradient_sums4[s] = select(e.gradient_sum, vec4f(u0.gradient_sum, u1.gradient_sum, u2.gradient_sum, u3.gradient_sum), inside);
  }
}
