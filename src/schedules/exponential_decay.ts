// Keras's `ExponentialDecay` (keras/optimizer_v2/learning_rate_schedule.py, TF 2.4-2.10).
import { f } from "./_helpers.ts";
import { DecayRateSchedule } from "./decay_rate_schedule.ts";

/**
 * `initial_learning_rate * decay_rate ** (step / decay_steps)`, the exponent floored when
 * `staircase` (Keras `ExponentialDecay`; its arguments are those of `DecayRateSchedule`).
 *
 * @example
 * ```ts
 * import { ExponentialDecay } from "@webgpu-adagrad/core";
 *
 * console.log(new ExponentialDecay(0.05, 10, 0.96).call(5)); // ≈ 0.0489898
 * ```
 */
export class ExponentialDecay extends DecayRateSchedule {
  /** The learning rate at `step`. */
  call(step: number): number {
    return f(f(this.initialLearningRate) * f(f(this.decayRate) ** this.periods(step)));
  }
}
