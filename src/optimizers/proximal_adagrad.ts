import { AdagradBase } from "./adagrad_base.ts";
import {
  PROXIMAL,
  type ProximalAdagradConfig,
  type ProximalAdagradOptions,
} from "../rules/proximal.ts";
import type { Rule } from "../rules/rule.ts";
import { elementWiseAs, type Variant } from "../_step/variant.ts";

/**
 * TensorFlow's `tf.compat.v1.train.ProximalAdagradOptimizer` (TF 1.x-2.x, kernels
 * `ApplyProximalAdagrad` and `SparseApplyProximalAdagrad`): Adagrad's step size with a proximal
 * (FOBOS) step for L1 and L2, so that L1 sets weights to exactly zero. Per element, in the fused
 * step, with no epsilon:
 *
 *     acc  += g * g
 *     eta   = lr / sqrt(acc)
 *     prox  = var - eta * g
 *     var   = sign(prox) * max(|prox| - eta * l1, 0) / (1 + eta * l2)
 *
 * The slot is `accumulator`. IndexedSlices have their duplicate indices summed first, as TF's
 * optimizer does, and only their rows change. Keras's clipping (`clipnorm`, `clipvalue`,
 * `globalClipnorm`), schedules, `skipNonFinite`, a LossScaleOptimizer, checkpoints and configs
 * work as for {@linkcode Adagrad}. With both strengths 0 it is TF 1.x's `AdagradOptimizer`
 * (no epsilon).
 *
 * @example
 * ```ts
 * import { ProximalAdagrad, VariableStore } from "@webgpu-adagrad/core";
 *
 * const adapter = await navigator.gpu.requestAdapter();
 * const device = await adapter!.requestDevice();
 * const store = new VariableStore(device);
 * const var0 = store.variable("var0", [2], new Float32Array([1, 2]));
 * const var1 = store.variable("var1", [2], new Float32Array([4, 3]));
 * const opt = new ProximalAdagrad({
 *   learningRate: 3.0, l1RegularizationStrength: 0.001, l2RegularizationStrength: 2.0,
 * });
 * for (let step = 0; step < 10; step++) {
 *   await opt.applyGradients([
 *     [new Float32Array([0.1, 0.2]), var0],
 *     [new Float32Array([0.01, 0.02]), var1],
 *   ]);
 * }
 * console.log(await var0.read()); // ≈ [-0.0495, -0.0995] (TF's testProximalAdagradWithL1_L2)
 * device.destroy();
 * ```
 */
export class ProximalAdagrad extends AdagradBase<ProximalAdagradConfig> {
  /** @ignore */
  protected static override readonly classRule: Rule = PROXIMAL;
  /** @ignore */
  protected static override readonly classVariant: Variant = elementWiseAs("ProximalAdagrad");
  /** TensorFlow's rule: `"proximal"`. */
  declare readonly rule: "proximal";
  /**
   * Creates the optimizer; GPU resources are made on the first step.
   *
   * @param options TF's arguments in camelCase (`learningRate` required)
   * @throws {TypeError} for an unknown option, a missing learning rate or a value of the wrong type
   * @throws {RangeError} for a value TF refuses: a learning rate or initial accumulator that is
   *   not positive, a negative strength
   */
  constructor(options: ProximalAdagradOptions) {
    super(options);
  }

  /** TF `l1_regularization_strength`. */
  get l1RegularizationStrength(): number {
    return this.getConfig().l1_regularization_strength;
  }

  /** TF `l2_regularization_strength`. */
  get l2RegularizationStrength(): number {
    return this.getConfig().l2_regularization_strength;
  }

  /**
   * Builds the optimizer from its config (TF's argument names in snake_case, as `getConfig()`
   * writes them).
   *
   * @example
   * ```ts
   * import { ProximalAdagrad } from "@webgpu-adagrad/core";
   *
   * const opt = ProximalAdagrad.fromConfig({ learning_rate: 0.1, l1_regularization_strength: 1e-4 });
   * console.log(opt.l1RegularizationStrength, opt.initialAccumulatorValue); // 0.0001 0.1
   * ```
   *
   * @throws {TypeError} for a key the optimizer does not have
   */
  static fromConfig(
    config: Partial<ProximalAdagradConfig> | Record<string, unknown>,
  ): ProximalAdagrad {
    return new ProximalAdagrad(PROXIMAL.optionsFromConfig(config) as ProximalAdagradOptions);
  }
}
