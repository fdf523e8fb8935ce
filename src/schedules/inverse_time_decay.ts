// Keras's `InverseTimeDecay` (keras/optimizer_v2/learning_rate_schedule.py, TF 2.4-2.10).
import { f } from "./_helpers.ts";
import { DecayRateSchedule } from "./decay_rate_schedule.ts";

/**
 * `initial_learning_rate / (1 + decay_rate * step / decay_steps)`, the quotient floored when
 * `staircase` (Keras `InverseTimeDecay`; its arguments are those of `DecayRateSchedule`).
 *
 * @example
 * ```ts
 * import { InverseTimeDecay } from "@webgpu-adagrad/core";
 *
 * console.log(new InverseTimeDecay(3.0, 1.0, 0.5).call(2)); // 1.5
 * ```
 */
export class InverseTimeDecay extends DecayRateSchedule {
  /** The learning rate at `step`. */
  call(step: number): number {
    return f(f(this.initialLearningRate) / f(1 + f(f(this.decayRate) * this.periods(step))));
  }
}
