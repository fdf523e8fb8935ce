// RowWiseAdagrad's options and rule: Keras 2's (resolveOptions) and FBGEMM's EXACT_ROWWISE_ADAGRAD weight
// decay and max_norm (fbgemm_gpu's split_table_batched_embeddings_ops_training.py arguments
// `weight_decay`, `weight_decay_mode`, `max_norm`). Configs keep Keras's keys and add FBGEMM's
// only when set, so configs from before them still load and compare equal.
import { describe, finiteNumber } from "../_common/validate.ts";
import { LearningRateSchedule } from "../schedules/learning_rate_schedule.ts";
import { RowDecayMode } from "../_kernels/specialisation.ts";
import { type ResolvedOptions, specialisationOf, stepValuesOf } from "./_options.ts";
import {
  type AdagradConfig,
  type AdagradOptions,
  KERAS2,
  optionsFromConfig,
  resolveOptions,
  toConfig,
} from "./keras2.ts";
import { lrOf, type Rule } from "./rule.ts";

/**
 * Options of {@linkcode RowWiseAdagrad}: {@linkcode AdagradOptions}, and FBGEMM's weight decay
 * and `max_norm` (FBGEMM's name beside each).
 *
 * @example
 * ```ts ignore
 * const options: RowWiseAdagradOptions = {
 *   learningRate: 0.01, weightDecay: 1e-5, weightDecayMode: "decoupled", maxNorm: 1,
 * };
 * ```
 */
export interface RowWiseAdagradOptions extends AdagradOptions {
  /** FBGEMM `weight_decay` (TorchRec `weight_decay`): at least 0. Default 0 (none). */
  weightDecay?: number;
  /**
   * FBGEMM `weight_decay_mode`: `"l2"` (`WeightDecayMode.L2`, TorchRec's RowWiseAdagrad) adds
   * `weightDecay * w` to the gradient, in the row's statistic and in the step; `"decoupled"`
   * (`WeightDecayMode.DECOUPLE`) multiplies the row by `1 - lr * weightDecay` instead. Only rows
   * with a gradient this step decay. Default `"l2"`.
   */
  weightDecayMode?: "l2" | "decoupled";
  /**
   * FBGEMM `max_norm`: each row updated this step whose L2 norm exceeds it is scaled down to it.
   * 0 (the default) for none.
   */
  maxNorm?: number;
}

/**
 * {@linkcode RowWiseAdagrad}'s config: Keras's keys, and FBGEMM's when set.
 *
 * @example
 * ```ts ignore
 * const config: RowWiseAdagradConfig = new RowWiseAdagrad({ maxNorm: 1 }).getConfig();
 * ```
 */
export interface RowWiseAdagradConfig extends AdagradConfig {
  /** FBGEMM `weight_decay`, present only when not 0. */
  weight_decay?: number;
  /** FBGEMM `weight_decay_mode` (`"l2"` or `"decoupled"`), present with `weight_decay`. */
  weight_decay_mode?: "l2" | "decoupled";
  /** FBGEMM `max_norm`, present only when not 0. */
  max_norm?: number;
}

/** Keras 2's options and FBGEMM's, validated. */
export function resolveRowWiseOptions(options: unknown): ResolvedOptions {
  if (typeof options !== "object" || options === null || options instanceof LearningRateSchedule) {
    return resolveOptions(options); // Keras's error, naming the learning rate
  }
  const { weightDecay, weightDecayMode, maxNorm, ...keras } = options as RowWiseAdagradOptions;
  const base = resolveOptions({ name: "RowWiseAdagrad", ...keras }, [
    "weightDecay",
    "weightDecayMode",
    "maxNorm",
  ]);
  const nonNegative = (x: unknown, what: string) => {
    if (x === undefined) return 0;
    const value = finiteNumber(x, what);
    if (value < 0) throw new RangeError(`${what} must be non-negative: ${value}`);
    return value;
  };
  const decay = nonNegative(weightDecay, "weightDecay");
  const norm = nonNegative(maxNorm, "maxNorm");
  const mode = weightDecayMode ?? "l2";
  if (mode !== "l2" && mode !== "decoupled") {
    throw new TypeError(
      `weightDecayMode must be "l2" or "decoupled" (FBGEMM's L2 and DECOUPLE), got ${
        describe(mode)
      }`,
    );
  }
  return {
    ...base,
    weightDecay: decay === 0 ? undefined : decay,
    weightDecayMode: mode,
    maxNorm: norm === 0 ? undefined : norm,
  };
}

/** Keras's config, then FBGEMM's keys that are set. */
export function rowWiseConfig(
  o: ResolvedOptions,
  learningRate: number | LearningRateSchedule,
): RowWiseAdagradConfig {
  const config: RowWiseAdagradConfig = toConfig(o, learningRate);
  if (o.weightDecay !== undefined) {
    config.weight_decay = o.weightDecay;
    config.weight_decay_mode = o.weightDecayMode;
  }
  if (o.maxNorm !== undefined) config.max_norm = o.maxNorm;
  return config;
}

/** Options from a RowWiseAdagrad config (Keras's keys, FBGEMM's). */
export function rowWiseOptionsFromConfig(config: unknown): RowWiseAdagradOptions {
  const caller = "RowWiseAdagrad.fromConfig";
  if (typeof config !== "object" || config === null) return optionsFromConfig(config, caller);
  // FBGEMM's names as getConfig writes them, or the options' own camelCase.
  const {
    weight_decay,
    weight_decay_mode,
    max_norm,
    weightDecay,
    weightDecayMode,
    maxNorm,
    ...keras
  } = config as Record<string, unknown>;
  const options: Record<string, unknown> = { ...optionsFromConfig(keras, caller) };
  const decay = weight_decay ?? weightDecay;
  const mode = weight_decay_mode ?? weightDecayMode;
  const norm = max_norm ?? maxNorm;
  if (decay !== undefined) options.weightDecay = decay;
  if (mode !== undefined) options.weightDecayMode = mode;
  if (norm !== undefined) options.maxNorm = norm;
  return options as RowWiseAdagradOptions;
}

/** Row-wise Adagrad: Keras 2's rule, with FBGEMM's weight decay and max_norm. */
export const ROW_WISE_RULE: Rule<"keras2"> = {
  ...KERAS2,
  framework: "FBGEMM (EXACT_ROWWISE_ADAGRAD) with Keras 2's options",
  resolve: resolveRowWiseOptions,
  optionsFromConfig: rowWiseOptionsFromConfig,
  toConfig: rowWiseConfig,
  specialisation: (o) => ({
    ...specialisationOf(o),
    rowDecay: o.weightDecay === undefined
      ? RowDecayMode.none
      : o.weightDecayMode === "decoupled"
      ? RowDecayMode.decoupled
      : RowDecayMode.l2,
    maxNorm: o.maxNorm !== undefined,
  }),
  call: (o, calls, lr) => ({
    lrAt: lrOf(o, lr, calls),
    values: { ...stepValuesOf(o), args: [o.weightDecay ?? 0, o.maxNorm ?? 0, 0, 0] },
  }),
};
