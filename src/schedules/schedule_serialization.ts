// Keras's `tf.keras.optimizers.schedules.serialize` / `deserialize` for the built-in schedules:
// `{ class_name, config }` with the `get_config()` keys Keras writes. A config goes back through
// the schedule's own argument table, so the defaults are those of its constructor.
import { argumentsFrom, type KerasArg } from "./_helpers.ts";
import { describe } from "../_common/validate.ts";
import {
  COSINE_DECAY_ARGS,
  COSINE_DECAY_RESTARTS_ARGS,
  CosineDecay,
  CosineDecayRestarts,
} from "./cosine_decay.ts";
import { DECAY_RATE_ARGS } from "./decay_rate_schedule.ts";
import { ExponentialDecay } from "./exponential_decay.ts";
import { InverseTimeDecay } from "./inverse_time_decay.ts";
import type { KerasSchedule } from "./keras_schedule.ts";
import type { LearningRateSchedule } from "./learning_rate_schedule.ts";
import {
  PIECEWISE_CONSTANT_DECAY_ARGS,
  PiecewiseConstantDecay,
} from "./piecewise_constant_decay.ts";
import { POLYNOMIAL_DECAY_ARGS, PolynomialDecay } from "./polynomial_decay.ts";

/** A schedule's config as Keras's `serialize` writes it. */
export interface SerializedSchedule {
  /** Keras class name, e.g. `"ExponentialDecay"`. */
  class_name: string;
  /** The schedule's `get_config()`. */
  config: Record<string, unknown>;
  /** Keras 3 writes the module (`"keras.optimizers.schedules"`); read and ignored. */
  module?: string;
  /** Keras 3 writes `null` here for its own classes; read and ignored. */
  registered_name?: string | null;
}

// Any schedule's constructor; a config's values reach it unchecked, for its own checks.
type Schedule = new (...args: never[]) => KerasSchedule;

// Keras class name, class and argument table, in the order the error below lists them. Names
// from a table, not `constructor.name`, which minifying bundlers rename.
const SCHEDULES: readonly (readonly [string, Schedule, readonly KerasArg[]])[] = [
  ["ExponentialDecay", ExponentialDecay, DECAY_RATE_ARGS],
  ["PiecewiseConstantDecay", PiecewiseConstantDecay, PIECEWISE_CONSTANT_DECAY_ARGS],
  ["PolynomialDecay", PolynomialDecay, POLYNOMIAL_DECAY_ARGS],
  ["InverseTimeDecay", InverseTimeDecay, DECAY_RATE_ARGS],
  ["CosineDecay", CosineDecay, COSINE_DECAY_ARGS],
  ["CosineDecayRestarts", CosineDecayRestarts, COSINE_DECAY_RESTARTS_ARGS],
];
const KERAS_NAMES = new Map<unknown, string>(SCHEDULES.map(([name, schedule]) => [schedule, name]));
const BY_NAME = new Map<unknown, (typeof SCHEDULES)[number]>(SCHEDULES.map((s) => [s[0], s]));

/**
 * `{ class_name, config }` for one of Keras's schedules, as `tf.keras.optimizers.schedules.serialize`
 * writes it.
 *
 * @example
 * ```ts
 * import { ExponentialDecay, serializeSchedule } from "@webgpu-adagrad/core";
 *
 * console.log(serializeSchedule(new ExponentialDecay(0.1, 100, 0.9)).class_name); // "ExponentialDecay"
 * ```
 */
export function serializeSchedule(schedule: LearningRateSchedule): SerializedSchedule {
  const className = KERAS_NAMES.get(schedule?.constructor);
  if (!className) {
    throw new TypeError(`cannot serialize ${describe(schedule)}: not one of Keras's schedules`);
  }
  return { class_name: className, config: schedule.getConfig() };
}

/**
 * Rebuilds a schedule from `{ class_name, config }`, as Python Keras writes it.
 *
 * @example
 * ```ts
 * import { deserializeSchedule } from "@webgpu-adagrad/core";
 *
 * const s = deserializeSchedule({
 *   class_name: "InverseTimeDecay",
 *   config: { initial_learning_rate: 0.5, decay_steps: 1.0, decay_rate: 0.1, staircase: false, name: null },
 * });
 * console.log(s.call(10)); // 0.25
 * ```
 */
export function deserializeSchedule(serialized: SerializedSchedule): LearningRateSchedule {
  const found = typeof serialized === "object" && serialized !== null
    ? BY_NAME.get(serialized.class_name)
    : undefined;
  if (!found) {
    throw new TypeError(
      `unknown learning rate schedule ${
        describe((serialized as { class_name?: unknown })?.class_name)
      }; known: ${[...BY_NAME.keys()].join(", ")}`,
    );
  }
  const [, schedule, args] = found;
  return new schedule(...argumentsFrom(args, serialized.config ?? {}) as never[]);
}
