// Keras 2's Adagrad (tf.keras.optimizers.Adagrad, TF 2.4-2.10, OptimizerV2; its
// tf.keras.optimizers.legacy.Adagrad after): its options and config, validated with Keras's rules
// and wording, the mapping between Keras's snake_case config and the camelCase options, and the
// rule. The default rule, which the other rules' options build on.
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
  stepValuesOf,
} from "./_options.ts";
import { lrOf, type Rule } from "./rule.ts";

/**
 * Constructor options of {@linkcode Adagrad}, Keras's arguments in camelCase.
 *
 * @example
 * ```ts ignore
 * const options: AdagradOptions = { learningRate: 0.01, initialAccumulatorValue: 0.1 };
 * ```
 */
export interface AdagradOptions {
  /** Keras `learning_rate`: a number or a schedule. Default 0.001. */
  learningRate?: number | LearningRateSchedule;
  /** Keras `lr`: deprecated alias of `learningRate`; wins over it and warns once. */
  lr?: number | LearningRateSchedule;
  /** Keras `initial_accumulator_value`: starting value of every accumulator. Default 0.1. */
  initialAccumulatorValue?: number;
  /** Keras `epsilon`, added to `sqrt(accumulator)`. Default 1e-7; 0 also means 1e-7, as in Keras. */
  epsilon?: number;
  /** Keras `decay`: `lr_t = lr / (1 + decay * iterations)`. Default 0. */
  decay?: number;
  /** Keras `name`. Default `"Adagrad"`. */
  name?: string;
  /** Keras `clipvalue`: clamp every gradient element to `[-clipvalue, clipvalue]` first. */
  clipvalue?: number;
  /** Keras `clipnorm`: scale each gradient to an L2 norm of at most `clipnorm`. */
  clipnorm?: number;
  /**
   * Keras `global_clipnorm`: scale all of a step's gradients together to a joint L2 norm of at
   * most `globalClipnorm`; a non-finite joint norm makes every gradient NaN, as TF does. Not
   * together with `clipnorm`.
   */
  globalClipnorm?: number;
  /**
   * Put epsilon inside the square root, `var -= lr * g / sqrt(accum + epsilon)`: the rule of
   * tf.keras 2.11+, Keras 3, TF.js and JAX's optimizers. Default `false` (Keras 2.x: `sqrt(accum) + epsilon`).
   * Not a Keras 2.x argument; `getConfig()` writes it as `epsilon_inside_sqrt` only when true.
   */
  epsilonInsideSqrt?: boolean;
  /**
   * Skip a step whose gradients hold any NaN or infinity, whole: no variable, slot or `iterations`
   * changes (PyTorch's fused optimizers, JAX's `apply_if_finite`). Checked on the GPU, with no
   * readback in the step; `await opt.skippedSteps()` counts them. Default `false`: as in Keras, a
   * NaN propagates. Not a Keras argument; `getConfig()` writes `skip_non_finite` only when true.
   */
  skipNonFinite?: boolean;
  /**
   * The device, for an optimizer that only updates variables in your own buffers. Not needed
   * when it updates {@linkcode VariableStore} variables: it takes their device. Not part of
   * the Keras config.
   */
  device?: GPUDevice;
}

/**
 * The optimizer's config with Keras's keys, as `tf.keras.optimizers.Adagrad.get_config()`
 * returns it (TF 2.4-2.10).
 *
 * @example
 * ```ts ignore
 * const config: AdagradConfig = {
 *   name: "Adagrad", learning_rate: 0.001, decay: 0, initial_accumulator_value: 0.1, epsilon: 1e-7,
 * };
 * ```
 */
export interface AdagradConfig {
  /** The optimizer's name. */
  name: string;
  /** Keras `learning_rate`: a number, or a serialized schedule. */
  learning_rate: number | SerializedSchedule;
  /** Keras `decay`. */
  decay: number;
  /** Keras `initial_accumulator_value`. */
  initial_accumulator_value: number;
  /** Keras `epsilon`. */
  epsilon: number;
  /** Keras `clipnorm`, present only when set. */
  clipnorm?: number;
  /** Keras `global_clipnorm`, present only when set. */
  global_clipnorm?: number;
  /** Keras `clipvalue`, present only when set. */
  clipvalue?: number;
  /** Present (and true) only with `epsilonInsideSqrt`. */
  epsilon_inside_sqrt?: boolean;
  /** Present (and true) only with `skipNonFinite`. */
  skip_non_finite?: boolean;
}

const OPTION_KEYS = [
  "learningRate",
  "lr",
  "initialAccumulatorValue",
  "epsilon",
  "decay",
  "name",
  "clipvalue",
  "clipnorm",
  "globalClipnorm",
  "epsilonInsideSqrt",
  "skipNonFinite",
  "device",
];

// fromConfig key -> constructor option: Keras's snake_case and TF.js's camelCase.
const CONFIG_KEYS: Record<string, keyof AdagradOptions> = {
  name: "name",
  learning_rate: "learningRate",
  learningRate: "learningRate",
  lr: "lr",
  decay: "decay",
  initial_accumulator_value: "initialAccumulatorValue",
  initialAccumulatorValue: "initialAccumulatorValue",
  epsilon: "epsilon",
  clipvalue: "clipvalue",
  clipnorm: "clipnorm",
  global_clipnorm: "globalClipnorm",
  globalClipnorm: "globalClipnorm",
  epsilon_inside_sqrt: "epsilonInsideSqrt",
  epsilonInsideSqrt: "epsilonInsideSqrt",
  skip_non_finite: "skipNonFinite",
  skipNonFinite: "skipNonFinite",
};

/** Keras's backend epsilon, used when `epsilon` is 0 or absent. */
const BACKEND_EPSILON = 1e-7;

let warnedLr = false;

/**
 * Validates constructor options with Keras's rules and fills in Keras's defaults. `more`: a
 * subclass's own options (already taken out), listed in the message for an unknown one.
 */
export function resolveOptions(options: unknown, more: readonly string[] = []): ResolvedOptions {
  // Keras takes the learning rate first, `Adagrad(0.01)`; here every option is named.
  const positional = typeof options === "number" || options instanceof LearningRateSchedule;
  if (typeof options !== "object" || options === null || positional) {
    const example = typeof options === "number"
      ? String(options)
      : positional
      ? "schedule"
      : "0.01";
    throw new TypeError(
      `Adagrad: options must be an object, got ${describe(options)}; ` +
        `${positional ? "name the learning rate" : "for example"}: { learningRate: ${example} }`,
    );
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) {
      const allowed = [...OPTION_KEYS, ...more];
      throw new TypeError(
        `Unexpected keyword argument passed to optimizer: ${key}${camelHint(key, allowed)}. ` +
          `Allowed kwargs are ${allowed.join(", ")}.`,
      );
    }
  }
  const o = options as AdagradOptions;
  let learningRate = checkLearningRate(o.learningRate ?? 0.001);
  if (o.lr !== undefined) {
    learningRate = checkLearningRate(o.lr, "lr");
    if (!warnedLr) {
      warnedLr = true;
      console.warn("The `lr` argument is deprecated, use `learningRate` instead.");
    }
  }
  const initialAccumulatorValue = finiteNumber(
    o.initialAccumulatorValue ?? 0.1,
    "initialAccumulatorValue",
  );
  if (initialAccumulatorValue < 0) {
    throw new RangeError(
      `initial_accumulator_value must be non-negative: ${initialAccumulatorValue}`,
    );
  }
  if (o.epsilon !== undefined && o.epsilon !== null) {
    finiteNumber(o.epsilon, "epsilon");
    if (o.epsilon < 0) throw new RangeError(`epsilon must be non-negative: ${o.epsilon}`);
  }
  const decay = finiteNumber(o.decay ?? 0, "decay");
  if (decay < 0) throw new RangeError(`decay cannot be less than 0: ${decay}`);
  const name = o.name ?? "Adagrad";
  if (typeof name !== "string") {
    throw new TypeError(`Adagrad: name must be a string, got ${describe(name)}`);
  }
  const clip = (key: "clipvalue" | "clipnorm" | "globalClipnorm", keras: string) => {
    const value = o[key];
    if (value === undefined || value === null) return undefined;
    finiteNumber(value, keras);
    if (value < 0) throw new RangeError(`Expected ${keras} >= 0, received: ${value}`);
    return value;
  };
  const clipvalue = clip("clipvalue", "clipvalue");
  const clipnorm = clip("clipnorm", "clipnorm");
  const globalClipnorm = clip("globalClipnorm", "global_clipnorm");
  if (clipnorm !== undefined && globalClipnorm !== undefined) {
    throw new RangeError(
      `Cannot accept both \`clipnorm\` and \`global_clipnorm\`, passed \`clipnorm\` ` +
        `${clipnorm}, \`global_clipnorm\` ${globalClipnorm}`,
    );
  }
  const epsilonInsideSqrt = o.epsilonInsideSqrt ?? false;
  if (typeof epsilonInsideSqrt !== "boolean") {
    throw new TypeError(`epsilonInsideSqrt must be a boolean, got ${describe(epsilonInsideSqrt)}`);
  }
  const skipNonFinite = o.skipNonFinite ?? false;
  if (typeof skipNonFinite !== "boolean") {
    throw new TypeError(`skipNonFinite must be a boolean, got ${describe(skipNonFinite)}`);
  }
  const device = o.device;
  if (device !== undefined && (typeof device !== "object" || !("createBuffer" in device))) {
    throw new TypeError(`Adagrad: device must be a GPUDevice, got ${describe(device)}`);
  }
  return {
    ...KERAS2_DEFAULTS,
    learningRate,
    initialAccumulatorValue,
    // `epsilon or backend_config.epsilon()`: 0 means the backend epsilon too.
    epsilon: o.epsilon || BACKEND_EPSILON,
    decay,
    name,
    clipvalue,
    clipnorm,
    globalClipnorm,
    epsilonInsideSqrt,
    skipNonFinite,
    device,
  };
}

/** Keras's `get_config()` for resolved options and the current learning rate. */
export function toConfig(
  options: ResolvedOptions,
  learningRate: number | LearningRateSchedule,
): AdagradConfig {
  // Keras's key order: name, the clipping keys that are set, then Adagrad's own.
  const config = { name: options.name } as AdagradConfig;
  if (options.clipnorm !== undefined) config.clipnorm = options.clipnorm;
  if (options.globalClipnorm !== undefined) config.global_clipnorm = options.globalClipnorm;
  if (options.clipvalue !== undefined) config.clipvalue = options.clipvalue;
  Object.assign(config, {
    learning_rate: learningRate instanceof LearningRateSchedule
      ? serializeSchedule(learningRate)
      : learningRate,
    decay: options.decay,
    initial_accumulator_value: options.initialAccumulatorValue,
    epsilon: options.epsilon,
  });
  if (options.epsilonInsideSqrt) config.epsilon_inside_sqrt = true;
  if (options.skipNonFinite) config.skip_non_finite = true;
  return config;
}

/**
 * Constructor options from a config as Python Keras (or TF.js) writes it: `learning_rate` may be
 * a serialized schedule, `lr` is accepted, a missing `initial_accumulator_value` means 0.1.
 */
export function optionsFromConfig(config: unknown, caller = "Adagrad.fromConfig"): AdagradOptions {
  if (typeof config !== "object" || config === null) {
    throw new TypeError(`${caller}: expected an object, got ${describe(config)}`);
  }
  const options: Record<string, unknown> = {};
  let lr: unknown;
  for (const [key, value] of Object.entries(config)) {
    // Written by tf.keras.optimizers.legacy (TF 2.11+); it says nothing we need.
    if (key === "is_legacy_optimizer") continue;
    const option = CONFIG_KEYS[key];
    if (!option) throw new TypeError(`${caller}: unsupported config key '${key}'`);
    const isSchedule = (option === "learningRate" || option === "lr") &&
      typeof value === "object" && value !== null;
    // Keras's Adagrad.from_config passes a schedule dict through undeserialized (and fails
    // later); the base OptimizerV2.from_config deserializes it. We do what the base does.
    const resolved = isSchedule ? deserializeSchedule(value as SerializedSchedule) : value;
    if (option === "lr") lr = resolved;
    else options[option] = resolved;
  }
  // Keras's from_config: `config['learning_rate'] = config.pop('lr')`, silently.
  if (lr !== undefined) options.learningRate = lr;
  return options as AdagradOptions;
}

/** Keras 2.x (TF 2.4-2.10, OptimizerV2; tf.keras.optimizers.legacy.Adagrad after). */
export const KERAS2: Rule<"keras2"> = {
  id: "keras2",
  framework: "Keras 2 (tf.keras.optimizers.Adagrad, TF 2.4-2.10)",
  kernel: "keras2",
  iterationsName: "iter",
  resolve: resolveOptions,
  optionsFromConfig,
  toConfig,
  slots: (o) => [{ name: "accumulator", role: "accumulator", initial: o.initialAccumulatorValue }],
  specialisation: specialisationOf,
  iterations: (_, calls) => calls,
  call: (o, calls, lr) => ({ lrAt: lrOf(o, lr, calls), values: stepValuesOf(o) }),
  checkSparse: () => {},
  checkLossScale: () => {},
};
