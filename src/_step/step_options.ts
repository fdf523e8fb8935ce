// What the package's wrappers tell one step of an Adagrad: TfjsAdagrad runs it synchronously
// (TF.js's `applyGradients` returns nothing) and copies TF.js's variables in and out in the
// step's own command buffer; LossScaleOptimizer says whether the gradients come from the scaled
// loss. They reach the step through `submitStep` (optimizers/adagrad.ts).

/** Commands encoded into the step's encoder before and after the step's own. */
export interface StepHooks {
  before(encoder: GPUCommandEncoder): void;
  after(encoder: GPUCommandEncoder): void;
}

/** What a wrapper tells one step. */
export interface StepOptions {
  hooks?: StepHooks;
  /** The gradients come from a LossScaleOptimizer's scaled loss: the kernels unscale them. */
  scaled?: boolean;
}
