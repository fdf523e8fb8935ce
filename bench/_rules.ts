// The other frameworks' rules as contenders: this package's dense step under Keras 3's and
// PyTorch's rules, each timed against the Keras 2 step of the same case in the same rounds.
import { Adagrad } from "../mod.ts";
import { type BenchCase, fused, type Running } from "./_contenders.ts";

/** The rules' rows: what each one's optimizer is. */
export const RULE_CONTENDERS = {
  /** PyTorch with lr_decay and L2 weight decay (per-variable learning rates, the L2 term). */
  torch: () => Adagrad.torch({ lr: 0.01, lrDecay: 1e-3, weightDecay: 1e-4 }),
  /** Keras 3 with neither EMA nor accumulation: epsilon inside, the loss scale factor's divide. */
  keras3: () => Adagrad.keras3({ learningRate: 0.01 }),
  /** Keras 3 with the moving average (the average slot read and written every call). */
  ema: () => Adagrad.keras3({ learningRate: 0.01, useEma: true }),
  /**
   * A Keras 3 call that only accumulates: so many steps per update that every timed call adds its
   * gradients and nothing else.
   */
  accumulate: () => Adagrad.keras3({ learningRate: 0.01, gradientAccumulationSteps: 2 ** 30 }),
} as const satisfies Record<string, () => Adagrad<object>>;

/** The dense step of `c` (gradients written in place) under `make()`'s rule. */
export function ruleStep(device: GPUDevice, c: BenchCase, make: () => Adagrad<object>): Running {
  return fused(device, c, { make });
}
