// What every rule's options become, and the checks and helpers they share: the learning rate (a
// number or a schedule, in float32 as Keras computes it), the snake_case hints, and the step's
// values and specialisation common to all rules.
import { NormMode, PLAIN_SPECIALISATION, type Specialisation } from "../_kernels/specialisation.ts";
import type { StepValues } from "../_step/uniforms.ts";
import { describe, finiteNumber } from "../_common/validate.ts";
import { LearningRateSchedule } from "../schedules/learning_rate_schedule.ts";

/** Options after validation and the rule's defaults (PyTorch's `lr` is `learningRate`, ...). */
export interface ResolvedOptions {
  learningRate: number | LearningRateSchedule;
  initialAccumulatorValue: number;
  epsilon: number;
  decay: number;
  name: string;
  clipvalue: number | undefined;
  clipnorm: number | undefined;
  globalClipnorm: number | undefined;
  epsilonInsideSqrt: boolean;
  skipNonFinite: boolean;
  device: GPUDevice | undefined;
  /** Keras 3: decoupled; PyTorch: L2 (0 for none). */
  weightDecay: number | undefined;
  /** Keras 3 `use_ema`, `ema_momentum`, `ema_overwrite_frequency`. */
  useEma: boolean;
  emaMomentum: number;
  emaOverwriteFrequency: number | undefined;
  /** Keras 3 `loss_scale_factor`. */
  lossScaleFactor: number | undefined;
  /** Keras 3 `gradient_accumulation_steps`. */
  gradientAccumulationSteps: number | undefined;
  /** PyTorch `lr_decay` (0 for none). */
  lrDecay: number;
  /** PyTorch `maximize`. */
  maximize: boolean;
  /** TensorFlow's proximal Adagrads' L1 and L2 strengths (0 for the other rules). */
  l1: number;
  l2: number;
  /** Row-wise Adagrad: FBGEMM's weight decay mode (with `weightDecay`) and `max_norm`. */
  weightDecayMode: "l2" | "decoupled";
  maxNorm: number | undefined;
}

/** The options every rule has, as Keras 2 sets them: none of the others' on. */
export const KERAS2_DEFAULTS = {
  decay: 0,
  epsilonInsideSqrt: false,
  skipNonFinite: false,
  clipvalue: undefined,
  clipnorm: undefined,
  globalClipnorm: undefined,
  weightDecay: undefined,
  useEma: false,
  emaMomentum: 0.99,
  emaOverwriteFrequency: undefined,
  lossScaleFactor: undefined,
  gradientAccumulationSteps: undefined,
  lrDecay: 0,
  maximize: false,
  l1: 0,
  l2: 0,
  weightDecayMode: "l2",
  maxNorm: undefined,
} as const satisfies Partial<ResolvedOptions>;

/**
 * lr_t for iteration `step`: the schedule at `step` (or the number), then divided by
 * `1 + decay * step`, in float32 as Keras computes it.
 */
export function learningRateAt(
  base: number | LearningRateSchedule,
  decay: number,
  step: number,
): number {
  const f = Math.fround;
  const lr = f(base instanceof LearningRateSchedule ? base.call(step) : base);
  if (decay <= 0) return lr;
  return f(lr / f(1 + f(f(decay) * f(step))));
}

/**
 * Throws unless `x` is a finite number >= 0 or a schedule; returns it. Keras takes a negative rate
 * silently (and then ascends); PyTorch refuses it, and so does this package, everywhere.
 */
export function checkLearningRate(
  x: unknown,
  what = "learningRate",
): number | LearningRateSchedule {
  if (x instanceof LearningRateSchedule) return x;
  if (typeof x !== "number") {
    throw new TypeError(
      `${what} must be a number or a LearningRateSchedule, got ${describe(x)}`,
    );
  }
  return checkLearningRateValue(finiteNumber(x, what), what);
}

/**
 * Throws a RangeError unless the rate `lr` (a number, or a schedule's value `at` a step) is finite
 * and not negative: a negative rate would climb the loss instead of descending it.
 */
export function checkLearningRateValue(lr: number, what = "learningRate", at?: number): number {
  if (Number.isFinite(lr) && lr >= 0) return lr;
  const source = at === undefined ? "" : ` (the schedule's value at step ${at})`;
  throw new RangeError(
    `${what} must be finite and >= 0, got ${lr}${source}; unlike Keras, a negative rate is ` +
      `refused rather than followed uphill`,
  );
}

/** ` (did you mean 'learningRate'?)` for a snake_case key whose camelCase is allowed, else "". */
export function camelHint(key: string, allowed: readonly string[]): string {
  const camel = key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  return camel !== key && allowed.includes(camel) ? ` (did you mean '${camel}'?)` : "";
}

/** The step's values in `Params` from these options. */
export function stepValuesOf(o: ResolvedOptions): StepValues {
  return {
    epsilon: o.epsilon,
    clipValue: o.clipvalue ?? 0,
    clipNorm: o.clipnorm ?? o.globalClipnorm ?? 0,
  };
}

/** The kernel specialisation (WGSL `override` constants) these options need. */
export function specialisationOf(o: ResolvedOptions): Specialisation {
  return {
    ...PLAIN_SPECIALISATION,
    epsilonInsideSqrt: o.epsilonInsideSqrt,
    clipValue: o.clipvalue !== undefined,
    normMode: o.clipnorm !== undefined
      ? NormMode.clipnorm
      : o.globalClipnorm !== undefined
      ? NormMode.global
      : NormMode.none,
    skipNonFinite: o.skipNonFinite,
  };
}
