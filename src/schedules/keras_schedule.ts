// The base of Keras's built-in schedules. Each schedule lists its constructor arguments once, as a
// table in Keras's order (see `KerasArg`); this class checks and keeps them and writes them back
// in `getConfig()`, and schedule_serialization.ts rebuilds a schedule from the same table.
import { type KerasArg, orDefault, propertyOf } from "./_helpers.ts";
import { LearningRateSchedule } from "./learning_rate_schedule.ts";

/**
 * Base of Keras's built-in schedules: the constructor's arguments, checked, as readonly
 * properties, and `getConfig()` returning them under Keras's snake_case keys, in Keras's order.
 *
 * @example
 * ```ts
 * import { CosineDecay, type KerasSchedule } from "@webgpu-adagrad/core";
 *
 * const s: KerasSchedule = new CosineDecay(1.0, 1000, 0.0, "cosine");
 * console.log(s.name, s.getConfig());
 * // cosine { initial_learning_rate: 1, decay_steps: 1000, alpha: 0, name: "cosine" }
 * ```
 */
export abstract class KerasSchedule extends LearningRateSchedule {
  /** Keras `name`. */
  declare readonly name: string | null;
  readonly #args: readonly KerasArg[];

  /**
   * Checks the subclass's constructor arguments and sets each as its property (`decay_steps` as
   * `decaySteps`).
   *
   * @param args the Keras arguments in Keras's order, the last `name`: each one's key, check and,
   *   when optional, default
   * @param values the constructor's arguments in the same order, `undefined` for a default
   */
  protected constructor(
    args: readonly (readonly [
      key: string,
      check: (value: unknown, key: string) => unknown,
      fallback?: unknown,
    ])[],
    values: readonly unknown[],
  ) {
    super();
    this.#args = args;
    const self = this as unknown as Record<string, unknown>;
    args.forEach((arg, i) => {
      self[propertyOf(arg[0])] = arg[1](orDefault(arg, values[i]), arg[0]);
    });
  }

  /** Keras's `get_config()`. */
  getConfig(): Record<string, unknown> {
    const self = this as unknown as Record<string, unknown>;
    return Object.fromEntries(this.#args.map(([key]) => {
      const value = self[propertyOf(key)];
      return [key, Array.isArray(value) ? [...value] : value];
    }));
  }
}
