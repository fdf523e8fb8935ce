// The contract every rule fits. A rule is one file here, `<name>.wgsl`, with
//
//   fn <name>_step(g: f32, s: RuleState, r: RuleRates) -> RuleState      (required)
//   fn <name>_prepare(g: f32, args: vec4f) -> f32                          (optional: g as is)
//   fn <name>_lr(lr: f32, step: u32, lag: u32, args: vec4f) -> f32        (optional: lr as is)
//
// `_step` takes one element's clipped gradient and state and returns its state after the step;
// `_prepare` changes a raw (unscaled) gradient before clipping and accumulation; `_lr` gives a
// variable its own learning rate from its steps. scripts/gen_shaders.ts joins this file, the
// rules and a dispatch on RULE into the generated `_rules.wgsl` (rule_step, rule_prepare,
// rule_lr). The rule's TypeScript module (src/rules/) declares its slots, writes its `args` and
// names the file.

// One element's state: the variable, the accumulator (every rule has one) and, for a rule that
// declares it (RULE_SUMS), a sum of its gradients. A state the rule lacks reads 0 and is not
// written back; with RULE_READS_VARIABLE false, `variable` reads 0 too.
struct RuleState {
  variable: f32,
  accumulator: f32,
  gradient_sum: f32,
}

// What a tile's elements share: the learning rate (the variable's own, after `_lr`), epsilon, the
// call's step number (Params.step: 1 for the first call), the rule's arguments and whether its
// weight decay applies to this variable (Tile.decay; false for IndexedSlices).
struct RuleRates {
  lr: f32,
  epsilon: f32,
  step: u32,
  args: vec4f,
  decay: bool,
}
