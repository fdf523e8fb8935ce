// TensorFlow's ProximalAdagrad (tf.compat.v1.train.ProximalAdagradOptimizer; the
// ApplyProximalAdagrad and SparseApplyProximalAdagrad kernels): its options, config and rule. The
// update is shaders/rules/proximal.wgsl.
import { stepValuesOf } from "./_options.ts";
import {
  type Member,
  memberParts,
  type ProximalFamilyConfig,
  type ProximalFamilyOptions,
} from "./_tf_proximal.ts";
import { KERAS2 } from "./keras2.ts";
import { lrOf, type Rule } from "./rule.ts";

/**
 * Options of {@linkcode ProximalAdagrad}: `tf.compat.v1.train.ProximalAdagradOptimizer`'s
 * arguments in camelCase, and Keras's clipping.
 *
 * @example
 * ```ts ignore
 * const options: ProximalAdagradOptions = { learningRate: 0.1, l1RegularizationStrength: 1e-4 };
 * ```
 */
export interface ProximalAdagradOptions extends ProximalFamilyOptions {
  /** TF `initial_accumulator_value`: where every accumulator starts; positive. Default 0.1. */
  initialAccumulatorValue?: number;
  /**
   * Skip a step whose gradients hold a NaN or an infinity, whole, as {@linkcode AdagradOptions}'s
   * `skipNonFinite` does (not TF's). Default false.
   */
  skipNonFinite?: boolean;
}

/**
 * {@linkcode ProximalAdagrad}'s config: TF's constructor arguments in snake_case.
 *
 * @example
 * ```ts ignore
 * const config: ProximalAdagradConfig = new ProximalAdagrad({ learningRate: 0.1 }).getConfig();
 * ```
 */
export interface ProximalAdagradConfig extends ProximalFamilyConfig {
  /** TF `initial_accumulator_value`. */
  initial_accumulator_value: number;
  /** Present (and true) only with `skipNonFinite`. */
  skip_non_finite?: boolean;
}

const MEMBER: Member = {
  id: "proximal",
  className: "ProximalAdagrad",
  tfName: "ProximalAdagradOptimizer",
  initialKey: "initialAccumulatorValue",
  initialTf: "initial_accumulator_value",
  extra: { skipNonFinite: "skip_non_finite" },
};

/** TensorFlow's ProximalAdagrad (ApplyProximalAdagrad, SparseApplyProximalAdagrad). */
export const PROXIMAL: Rule<"proximal"> = {
  ...KERAS2,
  id: "proximal",
  framework: "TensorFlow (tf.compat.v1.train.ProximalAdagradOptimizer)",
  kernel: "proximal",
  ...memberParts(MEMBER),
  call: (o, calls, lr) => ({
    lrAt: lrOf(o, lr, calls),
    values: { ...stepValuesOf(o), args: [o.l1, o.l2, 0, 0] },
  }),
};
