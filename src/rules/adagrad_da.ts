// TensorFlow's AdagradDA (tf.compat.v1.train.AdagradDAOptimizer; the ApplyAdagradDA and
// SparseApplyAdagradDA kernels): dual averaging. Its options, config and rule; the update is
// shaders/rules/adagrad_da.wgsl, which keeps the sum of the gradients (RULE_SUMS) and recomputes
// the variable without reading it.
import { specialisationOf, stepValuesOf } from "./_options.ts";
import {
  type Member,
  memberParts,
  type ProximalFamilyConfig,
  type ProximalFamilyOptions,
} from "./_tf_proximal.ts";
import { KERAS2 } from "./keras2.ts";
import { lrOf, type Rule } from "./rule.ts";

/**
 * Options of {@linkcode AdagradDA}: `tf.compat.v1.train.AdagradDAOptimizer`'s arguments in
 * camelCase, and Keras's clipping. TF's `global_step` is the optimizer's own `iterations`.
 *
 * @example
 * ```ts ignore
 * const options: AdagradDAOptions = { learningRate: 0.1, l1RegularizationStrength: 1e-4 };
 * ```
 */
export interface AdagradDAOptions extends ProximalFamilyOptions {
  /**
   * TF `initial_gradient_squared_accumulator_value`: where every squared-gradient sum starts;
   * positive. Default 0.1.
   */
  initialGradientSquaredAccumulatorValue?: number;
}

/**
 * {@linkcode AdagradDA}'s config: TF's constructor arguments in snake_case.
 *
 * @example
 * ```ts ignore
 * const config: AdagradDAConfig = new AdagradDA({ learningRate: 0.1 }).getConfig();
 * ```
 */
export interface AdagradDAConfig extends ProximalFamilyConfig {
  /** TF `initial_gradient_squared_accumulator_value`. */
  initial_gradient_squared_accumulator_value: number;
}

const MEMBER: Member = {
  id: "adagradDA",
  className: "AdagradDA",
  tfName: "AdagradDAOptimizer",
  initialKey: "initialGradientSquaredAccumulatorValue",
  initialTf: "initial_gradient_squared_accumulator_value",
  extra: {},
  whyNot: {
    skipNonFinite: " (AdagradDA's step count T is counted on the CPU, and a step the GPU " +
      "skipped would leave it one ahead)",
    initialAccumulatorValue: " (AdagradDA's is initialGradientSquaredAccumulatorValue)",
  },
};

/** TensorFlow's AdagradDA (ApplyAdagradDA, SparseApplyAdagradDA). */
export const ADAGRAD_DA: Rule<"adagradDA"> = {
  ...KERAS2,
  id: "adagradDA",
  framework: "TensorFlow (tf.compat.v1.train.AdagradDAOptimizer)",
  kernel: "adagrad_da",
  ...memberParts(MEMBER),
  // TF's order of creation (AdagradDAOptimizer._create_slots).
  slots: (o) => [
    { name: "gradient_accumulator", role: "gradientSum", initial: 0 },
    {
      name: "gradient_squared_accumulator",
      role: "accumulator",
      initial: o.initialAccumulatorValue,
    },
  ],
  specialisation: (o) => ({
    ...specialisationOf(o),
    ruleSums: true,
    ruleReadsVariable: false,
  }),
  call: (o, calls, lr) => {
    // T = global_step + 1: 1 on the first step (AdagradDAOptimizer._prepare). The kernel reads it
    // as a u32; past that it would wrap, so the step is refused before anything is encoded.
    if (calls + 1 > 0xffffffff) {
      throw new RangeError(
        `AdagradDA: T = iterations + 1 = ${calls + 1} is past the kernel's 32-bit step count`,
      );
    }
    return {
      lrAt: lrOf(o, lr, calls),
      values: { ...stepValuesOf(o), args: [o.l1, o.l2, 0, 0], step: calls + 1 },
    };
  },
  checkLossScale: (_, dynamic, name) => {
    if (dynamic) {
      throw new TypeError(
        `LossScaleOptimizer: optimizer '${name}' is an AdagradDA, whose step count T is counted ` +
          `on the CPU; a dynamic scale skips steps on the GPU: use a fixed scale (dynamic: false)`,
      );
    }
  },
};
