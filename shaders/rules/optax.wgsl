// optax's `adagrad` (optax 0.2.x: `scale_by_rss`, then `scale_by_learning_rate`): epsilon inside
// the square root, and no step where the sum of squares is 0 (optax's `jnp.where(sum > 0, ...)`),
// so an accumulator that starts at 0 gives a zero update, never a NaN.
//
//   sum   <- sum + g * g
//   var   <- var - (g * rsqrt(sum + eps)) * lr      (0 instead where sum == 0)

fn optax_step(g: f32, s: RuleState, r: RuleRates) -> RuleState {
  let sum = s.accumulator + g * g;
  var scale = 0.0;
  if (sum > 0.0) {
    scale = 1.0 / sqrt(sum + r.epsilon);
  }
  return RuleState(s.variable - (scale * g) * r.lr, sum, s.gradient_sum);
}
