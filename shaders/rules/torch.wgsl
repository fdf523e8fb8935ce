// PyTorch (torch.optim.Adagrad, `_single_tensor_adagrad`, 1.13-2.x): L2 weight decay added to the
// gradient, `maximize` negating it, and a learning rate from the variable's own step count,
// lr / (1 + (step - 1) * lr_decay).
//
// args: x weight_decay, y lr_decay, z 1 for `maximize`.

fn torch_prepare(g: f32, args: vec4f) -> f32 {
  if (args.z != 0.0) {
    return -g;
  }
  return g;
}

// u32 arithmetic wraps, so a lag that wrapped below 0 (steps restored beyond the calls) still
// gives the variable's step.
fn torch_lr(lr: f32, step: u32, lag: u32, args: vec4f) -> f32 {
  return lr / (1.0 + f32(step - lag - 1u) * args.y);
}

fn torch_step(g: f32, s: RuleState, r: RuleRates) -> RuleState {
  var grad = g;
  if (r.decay && r.args.x != 0.0) {
    grad = g + r.args.x * s.variable;
  }
  let a = s.accumulator + grad * grad;
  return RuleState(s.variable - r.lr * (grad / denominator(a, r.epsilon)), a, s.gradient_sum);
}
