// A gradient value on its way to the rule: a skipped step, a loss scale's unscaling, the rule's
// preparation (`rule_prepare` in the generated `_rules.wgsl`), Keras's clipping, the step's
// learning rate, and the denominator of the rules that place epsilon as Keras does.

// Whether `skipNonFinite`, or a dynamic loss scale, skips this step.
fn skip_step(verdict: Verdict) -> bool {
  return (SKIP_NON_FINITE || LOSS_SCALE == LOSS_SCALE_DYNAMIC) && verdict.skip != 0u;
}

// A raw gradient as the optimizer sees it: unscaled, with a LossScaleOptimizer.
fn unscaled(g: f32, unscale: f32) -> f32 {
  if (LOSS_SCALE != LOSS_SCALE_NONE) {
    return g * unscale;
  }
  return g;
}

// The rule's own arguments (Params.arg0-3), as one vector.
fn rule_args(params: Params) -> vec4f {
  return vec4f(params.arg0, params.arg1, params.arg2, params.arg3);
}

// A raw gradient as the rule takes it, before any clipping or accumulation: unscaled, then
// prepared by the rule (Keras 3 divides by its loss_scale_factor, PyTorch negates for `maximize`).
fn prepared(g: f32, params: Params, unscale: f32) -> f32 {
  return rule_prepare(unscaled(g, unscale), rule_args(params));
}

// The step's learning rate: the CPU's, or the one non_finite.wgsl's `finalize` picked.
fn step_lr(params: Params, verdict: Verdict) -> f32 {
  if (SKIP_NON_FINITE) {
    return verdict.lr;
  }
  return params.lr;
}

// Keras's clip of one prepared gradient value: clipvalue, then clipnorm with the variable's
// `divisor` or global_clipnorm with `global_scale` (both from clip_norms.wgsl).
fn clip_prepared(g: f32, params: Params, divisor: f32, global_scale: f32) -> f32 {
  var x = g;
  if (CLIP_VALUE) {
    x = clamp(x, -params.clip_value, params.clip_value);
  }
  if (NORM_MODE == NORM_CLIPNORM) {
    return (x * params.clip_norm) / divisor; // tf.clip_by_norm's order of operations
  }
  if (NORM_MODE == NORM_GLOBAL) {
    return x * global_scale;
  }
  return x;
}

// Keras's clip of one raw gradient value: prepared, then clipped.
fn clip(g: f32, params: Params, unscale: f32, divisor: f32, global_scale: f32) -> f32 {
  return clip_prepared(prepared(g, params, unscale), params, divisor, global_scale);
}

// What Keras's and PyTorch's steps divide by, from the new accumulator.
fn denominator(a: f32, epsilon: f32) -> f32 {
  if (EPSILON_INSIDE_SQRT) {
    return sqrt(a + epsilon);
  }
  return sqrt(a) + epsilon;
}
