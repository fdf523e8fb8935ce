// TensorFlow's ProximalAdagrad (the ApplyProximalAdagrad CPU kernel): FOBOS with Adagrad's step
// size and no epsilon, a gradient step, then the L1 soft threshold (a uniform branch, as TF's)
// and the L2 shrink. Exact zeros are what L1 is for.
//
// args: x l1, y l2.

fn proximal_step(g: f32, s: RuleState, r: RuleRates) -> RuleState {
  let a = s.accumulator + g * g;
  let eta = r.lr / sqrt(a);
  let prox = s.variable - g * eta;
  let l1 = r.args.x;
  let l2 = r.args.y;
  if (l1 > 0.0) {
    return RuleState(sign(prox) * max(abs(prox) - eta * l1, 0.0) / (1.0 + l2 * eta), a, s.gradient_sum);
  }
  return RuleState(prox / (1.0 + l2 * eta), a, s.gradient_sum);
}
