// The base class of Keras's learning-rate schedules (keras/optimizer_v2/learning_rate_schedule.py,
// TF 2.4-2.10). The built-in schedules, in their own files, take the same arguments in the same
// order, use the same formulas, computed in float32 as Keras does for a Python-float initial
// learning rate, and write the same `get_config()` keys.

/**
 * Base class of the learning-rate schedules: a function of the 0-based step (the optimizer's
 * `iterations` before the step) to a learning rate. Subclass it for a schedule of your own.
 *
 * @example
 * ```ts
 * import { LearningRateSchedule } from "@webgpu-adagrad/core";
 *
 * class Halving extends LearningRateSchedule {
 *   call(step: number): number {
 *     return 0.1 / 2 ** Math.floor(step / 100);
 *   }
 *   getConfig(): Record<string, unknown> {
 *     return {};
 *   }
 * }
 * console.log(new Halving().call(250)); // 0.025
 * ```
 */
export abstract class LearningRateSchedule {
  /** The learning rate at `step`. */
  abstract call(step: number): number;
  /** The constructor's arguments with Keras's snake_case keys. */
  abstract getConfig(): Record<string, unknown>;
}
