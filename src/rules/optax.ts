// optax's Adagrad (optax 0.2.x, `optax.adagrad(learning_rate, initial_accumulator_value=0.1,
// eps=1e-7)`: `scale_by_rss` chained with `scale_by_learning_rate`): its options in optax's names,
// its config, and the rule. The update is shaders/rules/optax.wgsl. optax takes a sparse gradient
// as the dense one with zeros elsewhere, where the update is 0: updating only the listed rows is
// the same step.
import { describe, finiteNumber } from "../_common/validate.ts";
import { LearningRateSchedule } from "../schedules/learning_rate_schedule.ts";
import {
  deserializeSchedule,
  type SerializedSchedule,
  serializeSchedule,
} from "../schedules/schedule_serialization.ts";
import {
  camelHint,
  checkLearningRate,
  KERAS2_DEFAULTS,
  type ResolvedOptions,
  specialisationOf,
} from "./_options.ts";
import { KERAS2 } from "./keras2.ts";
import { lrOf, type Rule } from "./rule.ts";

/**
 * Options of {@linkcode Adagrad.optax}: `optax.adagrad`'s arguments in camelCase.
 *
 * @example
 * ```ts ignore
 * const options: OptaxAdagradOptions = { learningRate: 0.1, initialAccumulatorValue: 0, eps: 1e-7 };
 * ```
 */
export interface OptaxAdagradOptions {
  /**
   * optax `learning_rate`: a number or a schedule (called with optax's `count`, the steps so
   * far). Required, as in optax.
   */
  learningRate: number | LearningRateSchedule;
  /** optax `initial_accumulator_value`: where every `sum_of_squares` starts, >= 0. Default 0.1. */
  initialAccumulatorValue?: number;
  /** optax `eps`, added inside the square root, >= 0. Default 1e-7. */
  eps?: number;
  /** The optimizer's name (not optax's: optax has none). Default `"Adagrad"`. */
  name?: string;
  /** The device, for an optimizer that only updates variables in your own buffers. */
  device?: GPUDevice;
}

/**
 * {@linkcode Adagrad.optax}'s config: `optax.adagrad`'s arguments in snake_case, and the name.
 *
 * @example
 * ```ts ignore
 * const config: OptaxAdagradConfig = Adagrad.optax({ learningRate: 0.1 }).getConfig();
 * ```
 */
export interface OptaxAdagradConfig {
  /** The optimizer's name. */
  name: string;
  /** optax `learning_rate`: a number or a serialized schedule. */
  learning_rate: number | SerializedSchedule;
  /** optax `initial_accumulator_value`. */
  initial_accumulator_value: number;
  /** optax `eps`. */
  eps: number;
}

const KEYS = ["learningRate", "initialAccumulatorValue", "eps", "name", "device"];
const CONFIG_KEYS: Record<string, string> = {
  name: "name",
  learning_rate: "learningRate",
  initial_accumulator_value: "initialAccumulatorValue",
  eps: "eps",
};

function resolveOptaxOptions(options: unknown): ResolvedOptions {
  if (typeof options !== "object" || options === null || options instanceof LearningRateSchedule) {
    throw new TypeError(
      `Adagrad.optax: options must be an object, got ${describe(options)}; for example: ` +
        `{ learningRate: 0.1 }`,
    );
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KEYS.includes(key)) {
      throw new TypeError(
        `Adagrad.optax: unknown option '${key}'${camelHint(key, KEYS)}; it takes ` +
          `${KEYS.join(", ")} (optax.adagrad has no clipping: chain it before, as optax does)`,
      );
    }
  }
  if (o.learningRate === undefined) {
    throw new TypeError("Adagrad.optax: learningRate is required (optax.adagrad has no default)");
  }
  const nonNegative = (x: unknown, fallback: number, what: string) => {
    const value = x === undefined ? fallback : finiteNumber(x, what);
    if (!(value >= 0)) throw new RangeError(`${what} must be >= 0, got ${value}`);
    return value;
  };
  const name = o.name ?? "Adagrad";
  if (typeof name !== "string") throw new TypeError(`name must be a string, got ${describe(name)}`);
  const device = o.device;
  if (
    device !== undefined && (typeof device !== "object" || device === null ||
      !("createBuffer" in device))
  ) {
    throw new TypeError(`Adagrad.optax: device must be a GPUDevice, got ${describe(device)}`);
  }
  return {
    ...KERAS2_DEFAULTS,
    learningRate: checkLearningRate(o.learningRate),
    initialAccumulatorValue: nonNegative(o.initialAccumulatorValue, 0.1, "initialAccumulatorValue"),
    epsilon: nonNegative(o.eps, 1e-7, "eps"),
    name,
    device: device as GPUDevice | undefined,
  };
}

function optaxConfig(o: ResolvedOptions, lr: number | LearningRateSchedule): OptaxAdagradConfig {
  return {
    name: o.name,
    learning_rate: lr instanceof LearningRateSchedule ? serializeSchedule(lr) : lr,
    initial_accumulator_value: o.initialAccumulatorValue,
    eps: o.epsilon,
  };
}

function optaxOptionsFromConfig(config: unknown): OptaxAdagradOptions {
  if (typeof config !== "object" || config === null) {
    throw new TypeError(`Adagrad.optaxFromConfig: expected an object, got ${describe(config)}`);
  }
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    const option = Object.hasOwn(CONFIG_KEYS, key) ? CONFIG_KEYS[key] : KEYS.find((k) => k === key);
    if (!option || option === "device") {
      throw new TypeError(`Adagrad.optaxFromConfig: unsupported config key '${key}'`);
    }
    options[option] = option === "learningRate" && typeof value === "object" && value !== null
      ? deserializeSchedule(value as SerializedSchedule)
      : value;
  }
  return options as unknown as OptaxAdagradOptions;
}

/** optax's `adagrad` (optax 0.2.x). */
export const OPTAX: Rule<"optax"> = {
  ...KERAS2,
  id: "optax",
  framework: "optax (optax.adagrad, 0.2.x)",
  kernel: "optax",
  resolve: resolveOptaxOptions,
  optionsFromConfig: optaxOptionsFromConfig,
  toConfig: optaxConfig,
  slots: (o) => [{
    name: "sum_of_squares",
    role: "accumulator",
    initial: o.initialAccumulatorValue,
  }],
  specialisation: specialisationOf,
  call: (o, calls, lr) => ({
    lrAt: lrOf(o, lr, calls),
    values: { epsilon: o.epsilon, clipValue: 0, clipNorm: 0 },
  }),
};
