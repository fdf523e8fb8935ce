// Keras 3's Adagrad (keras.optimizers.Adagrad, Keras 3.x; the same rule as tf.keras 2.11-2.15's
// new optimizer): its options in camelCase, its defaults, its validation in its own words, and its
// get_config() keys. The step itself is the kernels' RULE_KERAS3.
import { describe, finiteNumber } from "../_common/validate.ts";
import { LearningRateSchedule } from "../schedules/learning_rate_schedule.ts";
import {
  deserializeSchedule,
  type SerializedSchedule,
  serializeSchedule,
} from "../schedules/schedule_serialization.ts";
import {
  checkLearningRateValue,
  KERAS2_DEFAULTS,
  type ResolvedOptions,
  specialisationOf,
  stepValuesOf,
} from "./_options.ts";
import { lrOf, type Rule } from "./rule.ts";

/**
 * Options of {@linkcode Adagrad.keras3}: Keras 3's `keras.optimizers.Adagrad` arguments, in
 * camelCase (Keras's name beside each). Unknown keys are refused, as Keras refuses them
 * (`lr` among them).
 *
 * @example
 * ```ts ignore
 * const options: Keras3AdagradOptions = { learningRate: 0.01, weightDecay: 0.004, useEma: true };
 * ```
 */
export interface Keras3AdagradOptions {
  /** Keras `learning_rate`: a number or a schedule (called with the raw call count). Default 0.001. */
  learningRate?: number | LearningRateSchedule;
  /** Keras `initial_accumulator_value`. Default 0.1 (Keras does not check its sign). */
  initialAccumulatorValue?: number;
  /** Keras `epsilon`, inside the square root: `sqrt(accumulator + epsilon)`. Default 1e-7. */
  epsilon?: number;
  /**
   * Keras `weight_decay`: decoupled, `w -= lr * weightDecay * w` before each update, for every
   * variable not excluded by {@linkcode Adagrad.excludeFromWeightDecay}. Default none.
   */
  weightDecay?: number | null;
  /** Keras `clipnorm`: each gradient scaled to an L2 norm of at most this. Default none. */
  clipnorm?: number | null;
  /** Keras `clipvalue`: each gradient element clamped to `[-clipvalue, clipvalue]`. */
  clipvalue?: number | null;
  /** Keras `global_clipnorm`: all gradients scaled together to a joint norm of at most this. */
  globalClipnorm?: number | null;
  /** Keras `use_ema`: keep a moving average of each variable (the `average` slot). */
  useEma?: boolean;
  /** Keras `ema_momentum`, in [0, 1]. Default 0.99. */
  emaMomentum?: number;
  /** Keras `ema_overwrite_frequency`: every this many updates, variables take their averages. */
  emaOverwriteFrequency?: number | null;
  /** Keras `loss_scale_factor`: gradients are divided by it first (see `scaleLoss`). */
  lossScaleFactor?: number | null;
  /**
   * Keras `gradient_accumulation_steps`, an integer >= 2: calls add their gradients (the
   * `gradient_accumulator` slot) and every this many calls the mean is applied.
   */
  gradientAccumulationSteps?: number | null;
  /** Keras `name`. Default `"adagrad"`. */
  name?: string | null;
  /** Keras 3 ignores `decay`, with a warning; so does this. */
  decay?: number;
  /** The device, for an optimizer that only updates variables in your own buffers. Not Keras's. */
  device?: GPUDevice;
}

/**
 * The config of a Keras 3 rule optimizer, with the keys of Keras 3's `get_config()` (unset options
 * are `null`, as Python's `None`).
 *
 * @example
 * ```ts ignore
 * const config: Keras3AdagradConfig = Adagrad.keras3({ useEma: true }).getConfig() as Keras3AdagradConfig;
 * ```
 */
export interface Keras3AdagradConfig {
  /** The optimizer's name. */
  name: string;
  /** A number, or a serialized schedule. */
  learning_rate: number | SerializedSchedule;
  /** Keras `weight_decay`. */
  weight_decay: number | null;
  /** Keras `clipnorm`. */
  clipnorm: number | null;
  /** Keras `global_clipnorm`. */
  global_clipnorm: number | null;
  /** Keras `clipvalue`. */
  clipvalue: number | null;
  /** Keras `use_ema`. */
  use_ema: boolean;
  /** Keras `ema_momentum`. */
  ema_momentum: number;
  /** Keras `ema_overwrite_frequency`. */
  ema_overwrite_frequency: number | null;
  /** Keras `loss_scale_factor`. */
  loss_scale_factor: number | null;
  /** Keras `gradient_accumulation_steps`. */
  gradient_accumulation_steps: number | null;
  /** Keras `initial_accumulator_value`. */
  initial_accumulator_value: number;
  /** Keras `epsilon`. */
  epsilon: number;
}

const OPTION_KEYS = [
  "learningRate",
  "initialAccumulatorValue",
  "epsilon",
  "weightDecay",
  "clipnorm",
  "clipvalue",
  "globalClipnorm",
  "useEma",
  "emaMomentum",
  "emaOverwriteFrequency",
  "lossScaleFactor",
  "gradientAccumulationSteps",
  "name",
  "decay",
  "device",
];

/** get_config() key -> option. */
const CONFIG_KEYS: Record<string, keyof Keras3AdagradOptions> = {
  name: "name",
  learning_rate: "learningRate",
  weight_decay: "weightDecay",
  clipnorm: "clipnorm",
  global_clipnorm: "globalClipnorm",
  clipvalue: "clipvalue",
  use_ema: "useEma",
  ema_momentum: "emaMomentum",
  ema_overwrite_frequency: "emaOverwriteFrequency",
  loss_scale_factor: "lossScaleFactor",
  gradient_accumulation_steps: "gradientAccumulationSteps",
  initial_accumulator_value: "initialAccumulatorValue",
  epsilon: "epsilon",
};

/** Python's repr of a value, for Keras's messages. */
const py = (x: unknown) =>
  x === undefined || x === null
    ? "None"
    : typeof x === "boolean"
    ? (x ? "True" : "False")
    : typeof x === "string"
    ? `'${x}'`
    : typeof x === "number"
    ? String(x)
    : describe(x);

let warnedDecay = false;

/** Validates Keras 3 options with Keras 3's rules and words, and fills in its defaults. */
export function resolveKeras3Options(options: unknown): ResolvedOptions {
  if (typeof options !== "object" || options === null || options instanceof LearningRateSchedule) {
    throw new TypeError(
      `Adagrad.keras3: options must be an object, got ${describe(options)}; for example: ` +
        `{ learningRate: 0.01 }`,
    );
  }
  const unknown = Object.keys(options).filter((k) => !OPTION_KEYS.includes(k));
  if (unknown.length > 0) {
    const shown = unknown.map((k) => `'${k}': ${py((options as Record<string, unknown>)[k])}`);
    throw new TypeError(`Argument(s) not recognized: {${shown.join(", ")}}`);
  }
  const o = options as Keras3AdagradOptions;
  if (o.decay !== undefined && !warnedDecay) {
    warnedDecay = true;
    console.warn("Argument `decay` is no longer supported and will be ignored.");
  }
  const number = (x: unknown, what: string) =>
    x === undefined || x === null ? undefined : finiteNumber(x, what);
  const boolean = (x: unknown, what: string) => {
    if (x !== undefined && typeof x !== "boolean") {
      throw new TypeError(`${what} must be a boolean, got ${describe(x)}`);
    }
    return x ?? false;
  };
  const name = o.name ?? "adagrad";
  if (typeof name !== "string") {
    throw new TypeError(`Adagrad.keras3: name must be a string, got ${describe(name)}`);
  }
  // Keras: `if gradient_accumulation_steps:`, so 0 means none.
  const steps = number(o.gradientAccumulationSteps, "gradientAccumulationSteps") || undefined;
  if (steps !== undefined && !(Number.isInteger(steps) && steps >= 2)) {
    throw new RangeError(
      "`gradient_accumulation_steps` must be an integer >= 2. Received: " +
        `gradient_accumulation_steps=${py(steps)}`,
    );
  }
  const useEma = boolean(o.useEma, "useEma");
  const emaMomentum = number(o.emaMomentum, "emaMomentum") ?? 0.99;
  const frequency = number(o.emaOverwriteFrequency, "emaOverwriteFrequency") || undefined;
  if (useEma) {
    if (emaMomentum > 1 || emaMomentum < 0) {
      throw new RangeError(
        `\`ema_momentum\` must be in the range [0, 1]. Received: ema_momentum=${py(emaMomentum)}`,
      );
    }
    if (frequency !== undefined && !(Number.isInteger(frequency) && frequency >= 1)) {
      throw new RangeError(
        "`ema_overwrite_frequency` must be an integer >= 1 or None. Received: " +
          `ema_overwrite_frequency=${py(frequency)}`,
      );
    }
  }
  const clipnorm = number(o.clipnorm, "clipnorm");
  const clipvalue = number(o.clipvalue, "clipvalue");
  const globalClipnorm = number(o.globalClipnorm, "globalClipnorm");
  if ([clipnorm, clipvalue, globalClipnorm].filter((x) => x !== undefined).length > 1) {
    throw new RangeError(
      "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: " +
        `clipnorm=${py(clipnorm)}, clipvalue=${py(clipvalue)}, ` +
        `global_clipnorm=${py(globalClipnorm)}`,
    );
  }
  const lr = o.learningRate ?? 0.001;
  if (!(lr instanceof LearningRateSchedule) && typeof lr !== "number") {
    throw new TypeError(
      "Argument `learning_rate` should be float, or an instance of LearningRateSchedule, or a " +
        "callable (that takes in the current iteration value and returns the corresponding " +
        `learning rate value). Received instead: learning_rate=${py(lr)}`,
    );
  }
  if (typeof lr === "number") checkLearningRateValue(finiteNumber(lr, "learningRate"));
  const lossScaleFactor = number(o.lossScaleFactor, "lossScaleFactor");
  if (lossScaleFactor === 0) {
    throw new RangeError("lossScaleFactor must not be 0: gradients are divided by it");
  }
  const device = o.device;
  if (device !== undefined && (typeof device !== "object" || !("createBuffer" in device))) {
    throw new TypeError(`Adagrad.keras3: device must be a GPUDevice, got ${describe(device)}`);
  }
  return {
    ...KERAS2_DEFAULTS,
    learningRate: lr,
    initialAccumulatorValue: number(o.initialAccumulatorValue, "initialAccumulatorValue") ?? 0.1,
    epsilon: number(o.epsilon, "epsilon") ?? 1e-7,
    epsilonInsideSqrt: true,
    name,
    // Keras 3 clips only when the value is truthy: 0 clips nothing.
    clipnorm: clipnorm || undefined,
    clipvalue: clipvalue || undefined,
    globalClipnorm: globalClipnorm || undefined,
    weightDecay: number(o.weightDecay, "weightDecay"),
    useEma,
    emaMomentum,
    emaOverwriteFrequency: frequency,
    lossScaleFactor,
    gradientAccumulationSteps: steps,
    device,
  };
}

/** Keras 3's `get_config()` for resolved options and the current learning rate. */
export function keras3Config(
  o: ResolvedOptions,
  learningRate: number | LearningRateSchedule,
): Keras3AdagradConfig {
  const orNull = (x: number | undefined) => x ?? null;
  return {
    name: o.name,
    learning_rate: learningRate instanceof LearningRateSchedule
      ? {
        module: "keras.optimizers.schedules",
        ...serializeSchedule(learningRate),
        registered_name: null,
      }
      : learningRate,
    weight_decay: orNull(o.weightDecay),
    clipnorm: orNull(o.clipnorm),
    global_clipnorm: orNull(o.globalClipnorm),
    clipvalue: orNull(o.clipvalue),
    use_ema: o.useEma,
    ema_momentum: o.emaMomentum,
    ema_overwrite_frequency: orNull(o.emaOverwriteFrequency),
    loss_scale_factor: orNull(o.lossScaleFactor),
    gradient_accumulation_steps: orNull(o.gradientAccumulationSteps),
    initial_accumulator_value: o.initialAccumulatorValue,
    epsilon: o.epsilon,
  };
}

/** Options from a config as Keras 3's `get_config()` writes it (a schedule deserialized). */
export function keras3OptionsFromConfig(config: unknown): Keras3AdagradOptions {
  if (typeof config !== "object" || config === null) {
    throw new TypeError(`Adagrad.fromConfig: expected an object, got ${describe(config)}`);
  }
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    const option = CONFIG_KEYS[key];
    if (!option) throw new TypeError(`Argument(s) not recognized: {'${key}': ${py(value)}}`);
    options[option] = option === "learningRate" && typeof value === "object" && value !== null
      ? deserializeSchedule(value as SerializedSchedule)
      : value;
  }
  return options as Keras3AdagradOptions;
}

/** Keras 3 (keras.optimizers.Adagrad, Keras 3.x; tf.keras 2.11-2.15's is the same rule). */
export const KERAS3: Rule<"keras3"> = {
  id: "keras3",
  framework: "Keras 3 (keras.optimizers.Adagrad)",
  kernel: "keras3",
  iterationsName: "iteration",
  resolve: resolveKeras3Options,
  optionsFromConfig: keras3OptionsFromConfig,
  toConfig: keras3Config,
  // Keras 3's order of creation: averages and gradient accumulators (BaseOptimizer.build), then
  // the accumulators (Adagrad.build).
  slots: (o) => [
    ...(o.useEma ? [{ name: "average", role: "average", initial: 0 } as const] : []),
    ...(o.gradientAccumulationSteps
      ? [{ name: "gradient_accumulator", role: "gradientSum", initial: 0 } as const]
      : []),
    { name: "accumulator", role: "accumulator", initial: o.initialAccumulatorValue },
  ],
  specialisation: (o) => ({
    ...specialisationOf(o),
    ema: o.useEma,
    accumulate: o.gradientAccumulationSteps !== undefined,
  }),
  decays: (o) => o.weightDecay !== undefined,
  // Keras 3's `iterations` counts updates: the raw count over the accumulation steps.
  iterations: (o, calls) => Math.floor(calls / (o.gradientAccumulationSteps ?? 1)),
  call: (o, calls, lr) => {
    const steps = o.gradientAccumulationSteps;
    // `self.iterations` before this call's increment, as the moving average reads it.
    const updates = KERAS3.iterations(o, calls);
    const frequency = o.emaOverwriteFrequency;
    const update = steps === undefined || (calls + 1) % steps === 0;
    return {
      // Schedules see the raw call count (`_iterations`), as in Keras 3.
      lrAt: lrOf(o, lr, calls),
      values: {
        ...stepValuesOf(o),
        args: [o.weightDecay ?? 0, o.lossScaleFactor ?? 1, 0, 0],
        accumulationSteps: steps ?? 1,
        emaMomentum: updates === 0 ? 0 : o.emaMomentum,
        emaOverwrite: frequency !== undefined && (updates + 1) % frequency === 0,
      },
      accumulation: steps === undefined ? undefined : update ? "update" : "add",
    };
  },
  checkSparse: (o, name) => {
    const whole = [
      o.weightDecay !== undefined && "weightDecay",
      o.useEma && "useEma",
      o.gradientAccumulationSteps !== undefined && "gradientAccumulationSteps",
    ].filter(Boolean);
    if (whole.length > 0) {
      throw new TypeError(
        `Adagrad.keras3: variable '${name}' has an IndexedSlices gradient, but ${
          whole.join(" and ")
        } act on whole variables (Keras 3 makes those steps dense); give it a dense gradient`,
      );
    }
  },
  checkLossScale: (o, dynamic, name) => {
    if (o.lossScaleFactor !== undefined) {
      throw new TypeError(
        `LossScaleOptimizer: optimizer '${name}' has a lossScaleFactor; Keras 3's ` +
          `LossScaleOptimizer replaces it: leave it out`,
      );
    }
    if (dynamic && (o.useEma || o.gradientAccumulationSteps !== undefined)) {
      throw new TypeError(
        `LossScaleOptimizer: optimizer '${name}' uses useEma or gradientAccumulationSteps, whose ` +
          `calls are counted on the CPU; a dynamic scale skips steps on the GPU: use a fixed ` +
          `scale (dynamic: false) or lossScaleFactor`,
      );
    }
  },
};
