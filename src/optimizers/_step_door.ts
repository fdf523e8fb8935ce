// A narrow door into Adagrad's step for the package's wrappers: TfjsAdagrad, which must run it
// synchronously (TF.js's `applyGradients` returns nothing) and copy TF.js's variables in and out
// in the step's own command buffer, and LossScaleOptimizer, which says whether the step's
// gradients come from the scaled loss. Adagrad hands over the function in a static block; nothing
// public changes.
import type { Adagrad } from "./adagrad.ts";
import type { GradientPair } from "./gradients.ts";

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

type SubmitStep = (
  opt: Adagrad,
  pairs: Iterable<GradientPair>,
  options: StepOptions,
) => Promise<number>;

let submit: SubmitStep | undefined;

/** Called once, by Adagrad's static block. */
export function grantStepAccess(fn: SubmitStep): void {
  submit = fn;
}

/**
 * Validates, encodes and submits one step now; throws bad input synchronously, before anything is
 * encoded. The promise settles with the GPU's verdict (the new `iterations`, or the error).
 */
export function submitStep(
  opt: Adagrad,
  pairs: Iterable<GradientPair>,
  options: StepOptions = {},
): Promise<number> {
  return submit!(opt, pairs, options);
}
