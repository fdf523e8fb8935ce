// What TensorFlow's proximal Adagrads (tf.compat.v1.train.ProximalAdagradOptimizer and its dual-
// averaging sibling) share: TF's arguments in camelCase, its defaults and validation in its words,
// plus this package's clipping options (Keras 2's, validated by resolveOptions). TF 1.x optimizers
// have no get_config(); the config holds their constructor arguments in snake_case, as TF names
// them. Each member's module (proximal.ts and its sibling's) gives its own `Member`.
import { describe } from "../_common/validate.ts";
import { LearningRateSchedule } from "../schedules/learning_rate_schedule.ts";
import {
  deserializeSchedule,
  type SerializedSchedule,
  serializeSchedule,
} from "../schedules/schedule_serialization.ts";
import { camelHint, checkLearningRate, type ResolvedOptions } from "./_options.ts";
import { resolveOptions } from "./keras2.ts";
import type { Rule } from "./rule.ts";

/**
 * The options TensorFlow's proximal Adagrads share: TF's learning rate and
 * strengths, and Keras's clipping.
 *
 * @example
 * ```ts ignore
 * const shared: ProximalFamilyOptions = { learningRate: 0.1, l2RegularizationStrength: 0.01 };
 * ```
 */
export interface ProximalFamilyOptions {
  /**
   * TF `learning_rate`: a positive number or a schedule (called with `iterations`). Required, as
   * in TF.
   */
  learningRate: number | LearningRateSchedule;
  /** TF `l1_regularization_strength`: at least 0. Default 0. */
  l1RegularizationStrength?: number;
  /** TF `l2_regularization_strength`: at least 0. Default 0. */
  l2RegularizationStrength?: number;
  /** TF `name`. */
  name?: string;
  /** Keras `clipvalue` (not TF 1.x's): clamp every gradient element first. */
  clipvalue?: number;
  /** Keras `clipnorm` (not TF 1.x's): scale each gradient to an L2 norm of at most it. */
  clipnorm?: number;
  /** Keras `global_clipnorm` (not TF 1.x's): scale all of a step's gradients together. */
  globalClipnorm?: number;
  /** The device, for an optimizer that only updates variables in your own buffers. */
  device?: GPUDevice;
}

/**
 * The config keys TensorFlow's proximal Adagrads share: TF's argument
 * names in snake_case, and Keras's clipping keys when set.
 *
 * @example
 * ```ts ignore
 * const shared: ProximalFamilyConfig = new ProximalAdagrad({ learningRate: 0.1 }).getConfig();
 * ```
 */
export interface ProximalFamilyConfig {
  /** TF `name`. */
  name: string;
  /** TF `learning_rate`: a number or a serialized schedule. */
  learning_rate: number | SerializedSchedule;
  /** TF `l1_regularization_strength`. */
  l1_regularization_strength: number;
  /** TF `l2_regularization_strength`. */
  l2_regularization_strength: number;
  /** Keras `clipnorm`, present only when set. */
  clipnorm?: number;
  /** Keras `global_clipnorm`, present only when set. */
  global_clipnorm?: number;
  /** Keras `clipvalue`, present only when set. */
  clipvalue?: number;
}

/** One member of the family: its rule, its class, TF's, its own options and their config keys. */
export interface Member {
  readonly id: string;
  readonly className: string;
  readonly tfName: string;
  /** The option holding the accumulator's start, and TF's name of it. */
  readonly initialKey: string;
  readonly initialTf: string;
  /** Options of Keras 2's that this member takes besides the shared ones, with their config keys. */
  readonly extra: Readonly<Record<string, string>>;
  /** Why an option of Adagrad's is not this member's, beyond the family's reasons. */
  readonly whyNot?: Readonly<Record<string, string>>;
}

/** Why an option of Adagrad's is not one of the family's, for the message. */
const WHY_NOT: Record<string, (m: Member) => string> = {
  epsilon: (m) => ` (TF's ${m.tfName} kernel has no epsilon)`,
  epsilonInsideSqrt: (m) => ` (TF's ${m.tfName} kernel has no epsilon)`,
  decay: () => " (use a LearningRateSchedule)",
  lr: () => " (the learning rate is learningRate)",
};

const SHARED_KEYS = ["learningRate", "name", "clipvalue", "clipnorm", "globalClipnorm", "device"];
const STRENGTHS = {
  l1: ["l1RegularizationStrength", "l1_regularization_strength"],
  l2: ["l2RegularizationStrength", "l2_regularization_strength"],
} as const;

export function resolveMember(m: Member, options: unknown): ResolvedOptions {
  if (typeof options !== "object" || options === null || options instanceof LearningRateSchedule) {
    throw new TypeError(
      `${m.className}: options must be an object, got ${describe(options)}; for example: ` +
        `{ learningRate: 0.01 }`,
    );
  }
  const o = options as Record<string, unknown>;
  const allowed = [
    ...SHARED_KEYS,
    ...Object.keys(m.extra),
    m.initialKey,
    STRENGTHS.l1[0],
    STRENGTHS.l2[0],
  ];
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) {
      throw new TypeError(
        `${m.className}: unknown option '${key}'${camelHint(key, allowed)}${
          m.whyNot?.[key] ?? WHY_NOT[key]?.(m) ?? ""
        }; it takes ${allowed.join(", ")}`,
      );
    }
  }
  if (o.learningRate === undefined) {
    throw new TypeError(
      `${m.className}: learningRate is required (TF's ${m.tfName} has no default)`,
    );
  }
  const shared: Record<string, unknown> = { name: m.className };
  for (const key of [...SHARED_KEYS, ...Object.keys(m.extra)]) {
    if (o[key] !== undefined) shared[key] = o[key];
  }
  // TF's check of the rate first (its message), then Keras 2's of the types, clipping and name.
  checkPositiveLearningRate(o.learningRate);
  const base = resolveOptions(shared);
  const strength = ([option, tf]: readonly [string, string]) => {
    const value = o[option] ?? 0;
    if (typeof value !== "number") {
      throw new TypeError(`${option} must be a number, got ${describe(value)}`);
    }
    if (!(value >= 0) || !Number.isFinite(value)) {
      throw new RangeError(`${tf.replaceAll("_", " ")} is not a non-negative scalar: ${value}`);
    }
    return value;
  };
  const l1 = strength(STRENGTHS.l1);
  const l2 = strength(STRENGTHS.l2);
  const initial = o[m.initialKey] ?? 0.1;
  if (typeof initial !== "number") {
    throw new TypeError(`${m.initialKey} must be a number, got ${describe(initial)}`);
  }
  if (!(initial > 0) || !Number.isFinite(initial)) {
    throw new RangeError(`${m.initialTf} must be positive: ${initial}`);
  }
  return {
    ...base,
    initialAccumulatorValue: initial,
    // Neither rule has an epsilon: TF's kernels divide by sqrt(accumulator) alone.
    epsilon: 0,
    l1,
    l2,
  };
}

/** TF's check of the learning rate (a schedule's values are not checked ahead). */
export function checkPositiveLearningRate(
  value: unknown,
): number | LearningRateSchedule {
  // TF's own message for a rate <= 0, before the package's general check.
  if (typeof value === "number" && Number.isFinite(value) && !(value > 0)) {
    throw new RangeError(`lr is not a positive scalar: ${value}`);
  }
  return checkLearningRate(value);
}

export function memberConfig(
  m: Member,
  o: ResolvedOptions,
  learningRate: number | LearningRateSchedule,
): Record<string, unknown> {
  const config: Record<string, unknown> = {
    name: o.name,
    learning_rate: learningRate instanceof LearningRateSchedule
      ? serializeSchedule(learningRate)
      : learningRate,
    [m.initialTf]: o.initialAccumulatorValue,
    l1_regularization_strength: o.l1,
    l2_regularization_strength: o.l2,
  };
  if (o.clipnorm !== undefined) config.clipnorm = o.clipnorm;
  if (o.globalClipnorm !== undefined) config.global_clipnorm = o.globalClipnorm;
  if (o.clipvalue !== undefined) config.clipvalue = o.clipvalue;
  if (o.skipNonFinite) config.skip_non_finite = true;
  return config;
}

export function memberOptionsFromConfig(m: Member, config: unknown): Record<string, unknown> {
  if (typeof config !== "object" || config === null) {
    throw new TypeError(`${m.className}.fromConfig: expected an object, got ${describe(config)}`);
  }
  const keys: Record<string, string> = {
    name: "name",
    learning_rate: "learningRate",
    [m.initialTf]: m.initialKey,
    l1_regularization_strength: STRENGTHS.l1[0],
    l2_regularization_strength: STRENGTHS.l2[0],
    clipnorm: "clipnorm",
    global_clipnorm: "globalClipnorm",
    clipvalue: "clipvalue",
    ...Object.fromEntries(Object.entries(m.extra).map(([option, key]) => [key, option])),
  };
  // TF's snake_case names, and the options' own (as Adagrad.fromConfig takes TF.js's camelCase).
  for (const option of Object.values(keys)) keys[option] = option;
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    const option = Object.hasOwn(keys, key) ? keys[key] : undefined;
    if (!option) throw new TypeError(`${m.className}.fromConfig: unsupported config key '${key}'`);
    options[option] = option === "learningRate" && typeof value === "object" && value !== null
      ? deserializeSchedule(value as SerializedSchedule)
      : value;
  }
  return options;
}

/** What a member's Member decides of its rule: its options, its config, its learning rate's check. */
export function memberParts(
  m: Member,
): Pick<Rule, "resolve" | "optionsFromConfig" | "toConfig" | "checkLearningRate"> {
  return {
    resolve: (options) => resolveMember(m, options),
    optionsFromConfig: (config) => memberOptionsFromConfig(m, config),
    toConfig: (o, lr) => memberConfig(m, o, lr),
    checkLearningRate: checkPositiveLearningRate,
  };
}
