// Keras 3 (keras.optimizers.Adagrad, `update_step`; tf.keras 2.11-2.15 has the same rule):
// epsilon inside the square root (EPSILON_INSIDE_SQRT, set by the rule), the gradient divided by
// `loss_scale_factor` first, and decoupled weight decay before the step,
// `var <- var - var * weight_decay * lr`, on the variables it applies to (Tile.decay). Its
// moving average and gradient accumulation are the dense update's (EMA, ACCUMULATE).
//
// args: x weight_decay (0 without), y loss_scale_factor (1 without).

fn keras3_prepare(g: f32, args: vec4f) -> f32 {
  // A uniform branch: no division per element without a factor (x / 1 is x).
  if (args.y != 1.0) {
    return g / args.y;
  }
  return g;
}

fn keras3_step(g: f32, s: RuleState, r: RuleRates) -> RuleState {
  var x = s.variable;
  if (r.decay) {
    x = x - x * r.args.x * r.lr;
  }
  let a = s.accumulator + g * g;
  return RuleState(x - (g * r.lr) / denominator(a, r.epsilon), a, s.gradient_sum);
}
