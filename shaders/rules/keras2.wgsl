// Keras 2.x (tf.keras.optimizers.Adagrad, TF 2.4-2.10, OptimizerV2), as TensorFlow's
// ResourceApplyAdagradV2 CPU kernel computes it; epsilon outside the square root unless
// EPSILON_INSIDE_SQRT (tf.keras 2.11+, TF.js). Row-wise Adagrad's dense and sparse kernel has its
// own math (rowwise_adagrad.wgsl) and takes its arguments from this rule's place.
//
//   accum <- accum + g * g
//   var   <- var - (g * lr) / (sqrt(accum) + epsilon)

fn keras2_step(g: f32, s: RuleState, r: RuleRates) -> RuleState {
  let a = s.accumulator + g * g;
  return RuleState(s.variable - (g * r.lr) / denominator(a, r.epsilon), a, s.gradient_sum);
}
