// A narrow door into Adagrad's step for TfjsAdagrad, which must run it synchronously (TF.js's
// `applyGradients` returns nothing) and copy TF.js's variables in and out in the step's own
// command buffer. Adagrad hands over the function in a static block; nothing public changes.
import type { Adagrad } from "./adagrad.ts";
import type { GradientPair } from "./types.ts";

/** Commands encoded into the step's encoder before and after the step's own. */
export interface StepHooks {
  before(encoder: GPUCommandEncoder): void;
  after(encoder: GPUCommandEncoder): void;
}

type SubmitStep = (
  opt: Adagrad,
  pairs: Iterable<GradientPair>,
  hooks?: StepHooks,
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
  hooks?: StepHooks,
): Promise<number> {
  return submit!(opt, pairs, hooks);
}
