// Keras's `ExponentialDecay` and `InverseTimeDecay` take the same arguments and decay over the same
// periods; this is that shared part, so that each adds only its formula.
import { finiteNumber } from "../_common/validate.ts";
import { checkedStep, f, type KerasArg, NAME, positive } from "./_helpers.ts";
import { KerasSchedule } from "./keras_schedule.ts";

/** Keras's arguments of `ExponentialDecay` and `InverseTimeDecay`, in Keras's order. */
export const DECAY_RATE_ARGS: readonly KerasArg[] = [
  ["initial_learning_rate", finiteNumber],
  ["decay_steps", positive],
  ["decay_rate", finiteNumber],
  ["staircase", Boolean, false],
  NAME,
];

/**
 * Base of `ExponentialDecay` and `InverseTimeDecay`: Keras's `initial_learning_rate`,
 * `decay_steps`, `decay_rate`, `staircase` and `name`; a subclass gives the formula in `call`.
 *
 * @example
 * ```ts
 * import { type DecayRateSchedule, ExponentialDecay, InverseTimeDecay } from "@webgpu-adagrad/core";
 *
 * const schedules: DecayRateSchedule[] = [
 *   new ExponentialDecay(1.0, 10, 0.5),
 *   new InverseTimeDecay(1.0, 10, 1.0),
 * ];
 * for (const s of schedules) console.log(s.decayRate, s.call(10)); // 0.5 0.5, then 1 0.5
 * ```
 */
export abstract class DecayRateSchedule extends KerasSchedule {
  /** Keras `initial_learning_rate`. */
  declare readonly initialLearningRate: number;
  /** Keras `decay_steps`. */
  declare readonly decaySteps: number;
  /** Keras `decay_rate`. */
  declare readonly decayRate: number;
  /** Keras `staircase`. */
  declare readonly staircase: boolean;

  /**
   * Keras's arguments, in Keras's order.
   *
   * @param initialLearningRate the rate at step 0
   * @param decaySteps steps per decay period (positive)
   * @param decayRate the decay per period
   * @param staircase decay in whole periods (default false)
   * @param name Keras `name` (default null)
   */
  constructor(
    initialLearningRate: number,
    decaySteps: number,
    decayRate: number,
    staircase?: boolean,
    name?: string | null,
  ) {
    super(DECAY_RATE_ARGS, [initialLearningRate, decaySteps, decayRate, staircase, name]);
  }

  /** The periods decayed at `step`: `step / decay_steps` in float32, floored when `staircase`. */
  protected periods(step: number): number {
    const p = f(checkedStep(step) / f(this.decaySteps));
    return this.staircase ? Math.floor(p) : p;
  }
}
