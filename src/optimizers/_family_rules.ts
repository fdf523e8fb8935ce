// The rules of Adagrad's relatives, as _rule.ts has Keras's and PyTorch's: TensorFlow's
// ProximalAdagrad and AdagradDA, and row-wise Adagrad with FBGEMM's weight decay and max_norm.
import { RowDecayMode, ruleKernel } from "../_kernels/specialisation.ts";
import { specialisationOf, stepValuesOf } from "./adagrad_config.ts";
import { KERAS2, lrOf, type Rule } from "./_rule.ts";
import {
  adagradDAConfig,
  adagradDAOptionsFromConfig,
  checkPositiveLearningRate,
  proximalConfig,
  proximalOptionsFromConfig,
  resolveAdagradDAOptions,
  resolveProximalOptions,
} from "./proximal_family_options.ts";
import {
  resolveRowWiseOptions,
  rowWiseConfig,
  rowWiseOptionsFromConfig,
} from "./row_wise_options.ts";

/** TensorFlow's ProximalAdagrad (ApplyProximalAdagrad, SparseApplyProximalAdagrad). */
export const PROXIMAL: Rule = {
  ...KERAS2,
  id: "proximal",
  framework: "TensorFlow (tf.compat.v1.train.ProximalAdagradOptimizer)",
  resolve: resolveProximalOptions,
  optionsFromConfig: proximalOptionsFromConfig,
  toConfig: proximalConfig,
  checkLearningRate: checkPositiveLearningRate,
  specialisation: (o) => ({ ...specialisationOf(o), rule: ruleKernel("proximal") }),
  call: (o, calls, lr) => ({
    lrAt: lrOf(o, lr, calls),
    values: { ...stepValuesOf(o), args: [o.l1, o.l2, 0, 0] },
  }),
};

/** TensorFlow's AdagradDA (ApplyAdagradDA, SparseApplyAdagradDA). */
export const ADAGRAD_DA: Rule = {
  ...KERAS2,
  id: "adagradDA",
  framework: "TensorFlow (tf.compat.v1.train.AdagradDAOptimizer)",
  resolve: resolveAdagradDAOptions,
  optionsFromConfig: adagradDAOptionsFromConfig,
  toConfig: adagradDAConfig,
  checkLearningRate: checkPositiveLearningRate,
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
    rule: ruleKernel("adagrad_da"),
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

/** Row-wise Adagrad: Keras 2's rule, with FBGEMM's weight decay and max_norm. */
export const ROW_WISE_RULE: Rule = {
  ...KERAS2,
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
