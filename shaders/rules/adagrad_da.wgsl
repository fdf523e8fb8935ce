// TensorFlow's AdagradDA (the ApplyAdagradDA CPU kernel): dual averaging. The sums of the gradients
// (RULE_SUMS) and of their squares grow; the variable is recomputed from them, whatever it was
// (it is not read: RULE_READS_VARIABLE is false), with T = iterations + 1 (the call's step) and no
// epsilon. With IndexedSlices only the listed rows are recomputed, as SparseApplyAdagradDA does.
//
// args: x l1, y l2.

fn adagrad_da_step(g: f32, s: RuleState, r: RuleRates) -> RuleState {
  let ga = s.gradient_sum + g;
  let gg = s.accumulator + g * g;
  let t = f32(r.step);
  let l1 = r.args.x;
  let denominator = r.args.y * (t * r.lr) + sqrt(gg);
  if (l1 > 0.0) {
    return RuleState(r.lr * -1.0 * sign(ga) * max(abs(ga) - t * l1, 0.0) / denominator, gg, ga);
  }
  return RuleState(r.lr * ga * -1.0 / denominator, gg, ga);
}
