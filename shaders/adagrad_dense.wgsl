// requires: _interface.wgsl
// requires: _dispatch.wgsl
// requires: _gradient.wgsl
// requires: _rules.wgsl
// Fused dense Adagrad update: per element, the raw gradient is prepared and clipped
// (_gradient.wgsl), then the rule RULE names steps the element's state (`rule_step`, one file of
// shaders/rules/ per rule; Keras 2's, for example, is TensorFlow's ResourceApplyAdagradV2:
// accum <- accum + g * g, var <- var - (g * lr) / (sqrt(accum) + epsilon)). Around any rule the
// kernel runs Keras 3's whole-variable options: the moving average after the step (the `averages`
// slot) and gradient accumulation (the `gradient_sums` slot, PHASE below). A rule that keeps a sum
// of its gradients (RULE_SUMS) keeps it in `gradient_sums` too, and one that does not read the
// variable (RULE_READS_VARIABLE false) only writes it.
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
// Keras 3's `average` (EMA) and `gradient_accumulator` slots (a RULE_SUMS rule's sums too), laid
// out as the accumulators; a step without them binds a small stand-in.
@group(0) @binding(7) var<storage, read_write> averages: array<f32>;
@group(0) @binding(8) var<storage, read_write> gradient_sums: array<f32>;
@group(0) @binding(7) var<storage, read_write> averages4: array<vec4f>;
@group(0) @binding(8) var<storage, read_write> gradient_sums4: array<vec4f>;

// Every load and store of the weights (WEIGHT_FORMAT) and the slots (STATE_FORMAT): one element,
// or four (the vec4 entry points). float32's, the only format yet, is the binding's own element.
fn load_variable(i: u32) -> f32 {
  return variables[i];
}
fn store_variable(i: u32, x: f32) {
  variables[i] = x;
}
fn load_variable4(i: u32) -> vec4f {
  return variables4[i];
}
fn store_variable4(i: u32, x: vec4f) {
  variables4[i] = x;
}
fn load_accumulator(i: u32) -> f32 {
  return accumulators[i];
}
fn store_accumulator(i: u32, x: f32) {
  accumulators[i] = x;
}
fn load_accumulator4(i: u32) -> vec4f {
  return accumulators4[i];
}
fn store_accumulator4(i: u32, x: vec4f) {
  accumulators4[i] = x;
}
fn load_average(i: u32) -> f32 {
  return averages[i];
}
fn store_average(i: u32, x: f32) {
  averages[i] = x;
}
fn load_average4(i: u32) -> vec4f {
  return averages4[i];
}
fn store_average4(i: u32, x: vec4f) {
  averages4[i] = x;
}
fn load_gradient_sum(i: u32) -> f32 {
  return gradient_sums[i];
}
fn store_gradient_sum(i: u32, x: f32) {
  gradient_sums[i] = x;
}
fn load_gradient_sum4(i: u32) -> vec4f {
  return gradient_sums4[i];
}
fn store_gradient_sum4(i: u32, x: vec4f) {
  gradient_sums4[i] = x;
}

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
// parameters, the rule's rates (the variable's own learning rate, whether weight decay applies), a
// loss scale's unscaling factor, clipnorm's divisor for the tile's variable, global_clipnorm's scale.
struct Rates {
  params: Params,
  rule: RuleRates,
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
  let args = rule_args(params);
  let lr = rule_lr(step_lr(params, verdict), params.step, tile.lag, args);
  let rule = RuleRates(lr, params.epsilon, params.step, args, tile.decay != 0u);
  return Rates(params, rule, verdict.unscale, divisor, global_scale);
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

// Whether the gradient sums are read and written: Keras 3's accumulation, a RULE_SUMS rule's sums.
fn has_gradient_sums() -> bool {
  return ACCUMULATE || RULE_SUMS;
}

// Whether the variables are read: to step (unless the rule recomputes them without), or for the
// moving average.
fn reads_variables() -> bool {
  return (steps() && RULE_READS_VARIABLE) || (EMA && PHASE == PHASE_ADD);
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
  let stepped = rule_step(clipped, RuleState(e.variable, e.accumulator, e.gradient_sum), r.rule);
  out.variable = stepped.variable;
  out.accumulator = stepped.accumulator;
  // Under accumulation the sums are Keras 3's, reset above; a rule's own only with RULE_SUMS.
  if (RULE_SUMS) {
    out.gradient_sum = stepped.gradient_sum;
  }
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
      e.variable = load_variable(v);
    }
    if (steps()) {
      e.accumulator = load_accumulator(s);
    }
    if (EMA) {
      e.average = load_average(s);
    }
    if (has_gradient_sums()) {
      e.gradient_sum = load_gradient_sum(s);
    }
    var g = 0.0;
    if (PHASE != PHASE_APPLY) {
      g = gradients[s];
    }
    let out = element(g, e, rates);
    if (steps()) {
      store_accumulator(s, out.accumulator);
    }
    if (writes_variables(rates.params)) {
      store_variable(v, out.variable);
    }
    if (EMA && PHASE != PHASE_MEAN) {
      store_average(s, out.average);
    }
    if (has_gradient_sums()) {
      store_gradient_sum(s, out.gradient_sum);
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
  // A rule that reads no variable still reads a vector whose padding lanes must keep their bits.
  if (reads_variables() || (!RULE_READS_VARIABLE && !all(inside))) {
    e.variable = load_variable4(v);
  }
  if (steps()) {
    e.accumulator = load_accumulator4(s);
  }
  if (EMA) {
    e.average = load_average4(s);
  }
  if (has_gradient_sums()) {
    e.gradient_sum = load_gradient_sum4(s);
  }
  // The scalar kernel's math, lane by lane (static lanes: no vector indexing in the loop).
  let u0 = element(g.x, Element(e.variable.x, e.accumulator.x, e.average.x, e.gradient_sum.x), rates);
  let u1 = element(g.y, Element(e.variable.y, e.accumulator.y, e.average.y, e.gradient_sum.y), rates);
  let u2 = element(g.z, Element(e.variable.z, e.accumulator.z, e.average.z, e.gradient_sum.z), rates);
  let u3 = element(g.w, Element(e.variable.w, e.accumulator.w, e.average.w, e.gradient_sum.w), rates);
  if (steps()) {
    store_accumulator4(s, select(e.accumulator, vec4f(u0.accumulator, u1.accumulator, u2.accumulator, u3.accumulator), inside));
  }
  if (writes_variables(rates.params)) {
    store_variable4(v, select(e.variable, vec4f(u0.variable, u1.variable, u2.variable, u3.variable), inside));
  }
  if (EMA && PHASE != PHASE_MEAN) {
    store_average4(s, select(e.average, vec4f(u0.average, u1.average, u2.average, u3.average), inside));
  }
  if (has_gradient_sums()) {
    store_gradient_sum4(s, select(e.gradient_sum, vec4f(u0.gradient_sum, u1.gradient_sum, u2.gradient_sum, u3.gradient_sum), inside));
  }
}
