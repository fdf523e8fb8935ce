// Keras's `PolynomialDecay` (keras/optimizer_v2/learning_rate_schedule.py, TF 2.4-2.10).
import { finiteNumber } from "../_common/validate.ts";
import { checkedStep, f, type KerasArg, NAME, positive } from "./_helpers.ts";
import { KerasSchedule } from "./keras_schedule.ts";

/** Keras's arguments of `PolynomialDecay`, in Keras's order. */
export const POLYNOMIAL_DECAY_ARGS: readonly KerasArg[] = [
  ["initial_learning_rate", finiteNumber],
  ["decay_steps", positive],
  ["end_learning_rate", finiteNumber, 0.0001],
  ["power", finiteNumber, 1.0],
  ["cycle", Boolean, false],
  NAME,
];

/**
 * `(initial - end) * (1 - step / decay_steps) ** power + end`, the step clipped to `decay_steps`,
 * or with `cycle`, `decay_steps` stretched to the next multiple of itself above the step (Keras
 * `PolynomialDecay`).
 *
 * @example
 * ```ts
 * import { PolynomialDecay } from "@webgpu-adagrad/core";
 *
 * console.log(new PolynomialDecay(0.05, 10, 0.001).call(5)); // ≈ 0.0255
 * ```
 */
export class PolynomialDecay extends KerasSchedule {
  /** Keras `initial_learning_rate`. */
  declare readonly initialLearningRate: number;
  /** Keras `decay_steps`. */
  declare readonly decaySteps: number;
  /** Keras `end_learning_rate`. */
  declare readonly endLearningRate: number;
  /** Keras `power`. */
  declare readonly power: number;
  /** Keras `cycle`. */
  declare readonly cycle: boolean;

  /**
   * Keras's arguments, in Keras's order.
   *
   * @param initialLearningRate the rate at step 0
   * @param decaySteps steps to reach `endLearningRate` (positive)
   * @param endLearningRate the final rate (default 0.0001)
   * @param power the polynomial's power (default 1)
   * @param cycle restart after `decaySteps` (default false)
   * @param name Keras `name` (default null)
   */
  constructor(
    initialLearningRate: number,
    decaySteps: number,
    endLearningRate?: number,
    power?: number,
    cycle?: boolean,
    name?: string | null,
  ) {
    super(POLYNOMIAL_DECAY_ARGS, [
      initialLearningRate,
      decaySteps,
      endLearningRate,
      power,
      cycle,
      name,
    ]);
  }

  /** The learning rate at `step`. */
  call(step: number): number {
    const s0 = checkedStep(step);
    let steps = f(this.decaySteps);
    let s = s0;
    if (this.cycle) {
      // Keras: multiplier 1 at step 0, else ceil(step / decay_steps).
      const m = s0 === 0 ? 1 : Math.ceil(f(s0 / steps));
      steps = f(steps * m);
    } else {
      s = Math.min(s0, steps);
    }
    const frac = f(1 - f(s / steps));
    const lr0 = f(this.initialLearningRate);
    const end = f(this.endLearningRate);
    return f(f(f(lr0 - end) * f(frac ** f(this.power))) + end);
  }
}
