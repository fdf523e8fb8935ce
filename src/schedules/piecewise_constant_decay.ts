// Keras's `PiecewiseConstantDecay` (keras/optimizer_v2/learning_rate_schedule.py, TF 2.4-2.10).
import { finiteNumber } from "../_common/validate.ts";
import { checkedStep, f, type KerasArg, NAME } from "./_helpers.ts";
import { KerasSchedule } from "./keras_schedule.ts";

// A frozen copy of an array of finite numbers (the array itself is checked before).
function numbers(x: unknown, key: string): readonly number[] {
  (x as unknown[]).forEach((v, i) => finiteNumber(v, `${key}[${i}]`));
  return Object.freeze([...(x as number[])]);
}

/** Keras's arguments of `PiecewiseConstantDecay`, in Keras's order. */
export const PIECEWISE_CONSTANT_DECAY_ARGS: readonly KerasArg[] = [
  ["boundaries", numbers],
  ["values", numbers],
  NAME,
];

/**
 * A step function: `values[0]` while `step <= boundaries[0]`, `values[i + 1]` while
 * `boundaries[i] < step <= boundaries[i + 1]`, `values[values.length - 1]` after the last
 * boundary (Keras `PiecewiseConstantDecay`).
 *
 * @example
 * ```ts
 * import { PiecewiseConstantDecay } from "@webgpu-adagrad/core";
 *
 * const s = new PiecewiseConstantDecay([100, 110], [1.0, 0.5, 0.1]);
 * console.log(s.call(100), s.call(101), s.call(111)); // 1 0.5 0.1
 * ```
 */
export class PiecewiseConstantDecay extends KerasSchedule {
  /** Keras `boundaries`, increasing. */
  declare readonly boundaries: readonly number[];
  /** Keras `values`: one more than `boundaries`. */
  declare readonly values: readonly number[];

  /**
   * Keras's arguments, in Keras's order.
   *
   * @param boundaries increasing steps
   * @param values one more value than boundaries
   * @param name Keras `name` (default null)
   */
  constructor(boundaries: number[], values: number[], name?: string | null) {
    // The pair is checked before its elements, as Keras checks the lengths first.
    if (!Array.isArray(boundaries) || !Array.isArray(values)) {
      throw new TypeError("boundaries and values must be arrays of numbers");
    }
    if (values.length !== boundaries.length + 1) {
      throw new RangeError(
        "The length of boundaries should be 1 less than the length of values",
      );
    }
    super(PIECEWISE_CONSTANT_DECAY_ARGS, [boundaries, values, name]);
  }

  /** The learning rate at `step`. */
  call(step: number): number {
    const s = checkedStep(step);
    const i = this.boundaries.findIndex((b) => s <= f(b));
    return f(this.values[i < 0 ? this.values.length - 1 : i]);
  }
}
