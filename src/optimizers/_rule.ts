// A framework's Adagrad as one object: its options (validation, defaults), its config keys, its
// slots, its specialisation of the kernels, and what each call writes into the step's uniforms.
// The optimizer asks its rule; the kernels see only the specialisation and Params.
//
// Adding a rule (issue 25 adds more): a RuleMode value and its WGSL const (src/_kernels/
// specialisation.ts, shaders/_prelude.wgsl), its branch in the prelude's `prepared` and `adagrad`,
// its options file (as keras3_options.ts), a Rule object here, its static factory on Adagrad, and
// a float64 reference in tests/_rules_reference.ts.
import { NormMode, PLAIN_SPECIALISATION, ruleKernel } from "../_kernels/specialisation.ts";
import type { Specialisation } from "../_kernels/specialisation.ts";
import type { SlotSpec } from "../_step/slot_home.ts";
import type { StepValues } from "../_step/uniforms.ts";
import { LearningRateSchedule } from "../schedules/learning_rate_schedule.ts";
import {
  learningRateAt,
  optionsFromConfig,
  type ResolvedOptions,
  resolveOptions,
  type RuleId,
  specialisationOf,
  stepValuesOf,
  toConfig,
} from "./adagrad_config.ts";
import { keras3Config, keras3OptionsFromConfig, resolveKeras3Options } from "./keras3_options.ts";
import { resolveTorchOptions, torchConfig, torchOptionsFromConfig } from "./torch_options.ts";

/**
 * The rule a constructor call builds, as a key of its options (module-private to the package: the
 * classes and factories set it, so the public constructors keep their frameworks' signatures).
 */
export const RULE_KEY: unique symbol = Symbol("rule");

/**
 * `options` tagged with `rule`; anything but an options object (a number, a schedule passed
 * positionally) goes through, for the rule's own error.
 */
export function withRule(options: unknown, rule: Rule): unknown {
  const tag = typeof options === "object" && options !== null &&
    !(options instanceof LearningRateSchedule);
  if (!tag) rule.resolve(options); // throws, in the rule's words
  return { ...options as object, [RULE_KEY]: rule };
}

/** What one call writes into the step's uniforms, and how the step runs. */
export interface CallPlan {
  /** lr_t for the call `j` calls back (0: this one), for skipNonFinite's table. */
  lrAt(j: number): number;
  values: StepValues;
  /** Keras 3's gradient accumulation: a call that only adds, or the update. */
  accumulation?: "add" | "update";
}

export interface Rule {
  readonly id: RuleId;
  /** The framework, its version and its class, for messages. */
  readonly framework: string;
  /** The iteration count's weight and checkpoint name (Keras 2 `iter`, Keras 3 `iteration`). */
  readonly iterationsName: "iter" | "iteration";
  resolve(options: unknown): ResolvedOptions;
  /** Options from a config as the framework writes it. */
  optionsFromConfig(config: unknown): unknown;
  toConfig(o: ResolvedOptions, learningRate: number | LearningRateSchedule): object;
  /** The slots each variable gets, in the order `weights` lists them. */
  slots(o: ResolvedOptions): SlotSpec[];
  specialisation(o: ResolvedOptions): Specialisation;
  /** The `iterations` the optimizer shows after `calls` calls. */
  iterations(o: ResolvedOptions, calls: number): number;
  /** The call after `calls` calls. */
  call(o: ResolvedOptions, calls: number, learningRate: number | LearningRateSchedule): CallPlan;
  /**
   * Throws a TypeError, before anything is encoded, when an IndexedSlices gradient (of variable
   * `name`) cannot be taken with these options.
   */
  checkSparse(o: ResolvedOptions, name: string): void;
  /**
   * A learning rate set after construction, checked as the rule's constructor checks it (absent:
   * Keras's check, a finite number or a schedule).
   */
  checkLearningRate?(value: unknown): number | LearningRateSchedule;
  /** Throws a TypeError when a LossScaleOptimizer (dynamic or fixed) cannot wrap it. */
  checkLossScale(o: ResolvedOptions, dynamic: boolean, name: string): void;
}

/** lr_t of the call `j` calls back, after `calls` calls, for a CallPlan's `lrAt`. */
export const lrOf =
  (o: ResolvedOptions, base: number | LearningRateSchedule, calls: number) => (j: number) =>
    learningRateAt(base, o.decay, Math.max(0, calls - j));

/** Keras 2.x (TF 2.4-2.10, OptimizerV2; tf.keras.optimizers.legacy.Adagrad after). */
export const KERAS2: Rule = {
  id: "keras2",
  framework: "Keras 2 (tf.keras.optimizers.Adagrad, TF 2.4-2.10)",
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

/** Keras 3 (keras.optimizers.Adagrad, Keras 3.x; tf.keras 2.11-2.15's is the same rule). */
export const KERAS3: Rule = {
  id: "keras3",
  framework: "Keras 3 (keras.optimizers.Adagrad)",
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
    rule: ruleKernel("keras3"),
    ema: o.useEma,
    accumulate: o.gradientAccumulationSteps !== undefined,
  }),
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

/** PyTorch (torch.optim.Adagrad, 1.13-2.x). */
export const TORCH: Rule = {
  id: "torch",
  framework: "PyTorch (torch.optim.Adagrad)",
  iterationsName: "iter",
  resolve: resolveTorchOptions,
  optionsFromConfig: torchOptionsFromConfig,
  toConfig: torchConfig,
  slots: (o) => [{ name: "sum", role: "accumulator", initial: o.initialAccumulatorValue }],
  specialisation: () => ({
    ...PLAIN_SPECIALISATION,
    rule: ruleKernel("torch"),
    normMode: NormMode.none,
  }),
  iterations: (_, calls) => calls,
  call: (o, calls, lr) => ({
    lrAt: lrOf(o, lr, calls),
    // A variable's step is this call's number less its lag (member rules).
    values: {
      ...stepValuesOf(o),
      args: [o.weightDecay ?? 0, o.lrDecay, o.maximize ? 1 : 0, 0],
      step: calls + 1,
    },
  }),
  checkSparse: (o) => {
    if ((o.weightDecay ?? 0) !== 0) {
      throw new TypeError("weight_decay option is not compatible with sparse gradients");
    }
  },
  checkLossScale: (_, dynamic, name) => {
    if (dynamic) {
      throw new TypeError(
        `LossScaleOptimizer: optimizer '${name}' follows PyTorch's rule, whose per-variable ` +
          `steps are counted on the CPU; a dynamic scale skips steps on the GPU: use a fixed ` +
          `scale (dynamic: false)`,
      );
    }
  },
};

/** Adagrad's rules by id (the relatives' are in _family_rules.ts). */
export const RULES: Readonly<Record<"keras2" | "keras3" | "torch", Rule>> = {
  keras2: KERAS2,
  keras3: KERAS3,
  torch: TORCH,
};
