import { AdagradBase } from "./adagrad_base.ts";
import { ADAGRAD_DA, type AdagradDAConfig, type AdagradDAOptions } from "../rules/adagrad_da.ts";
import type { Rule } from "../rules/rule.ts";
import { elementWiseAs, type Variant } from "../_step/variant.ts";

/**
 * TensorFlow's `tf.compat.v1.train.AdagradDAOptimizer` (TF 1.x-2.x, kernels `ApplyAdagradDA` and
 * `SparseApplyAdagradDA`): Adagrad dual averaging, the classic optimizer of sparse online models
 * such as CTR prediction. It keeps the sums of the gradients (`ga`) and of their squares (`gg`)
 * and recomputes each weight from them, whatever it was; L1 leaves weights at exactly zero while
 * `|ga|` stays under `T * l1`. Per element, in the fused step, with `T = iterations + 1` (TF's
 * `global_step + 1`) and no epsilon:
 *
 *     ga  += g
 *     gg  += g * g
 *     var  = -lr * sign(ga) * max(|ga| - T * l1, 0) / (l2 * T * lr + sqrt(gg))
 *
 * The slots are `gradient_accumulator` (from 0) and `gradient_squared_accumulator`. For an
 * IndexedSlices gradient only the listed rows are recomputed, their duplicates summed first.
 * Keras's clipping, schedules, a fixed-scale LossScaleOptimizer, checkpoints and configs work as
 * for {@linkcode Adagrad}; `skipNonFinite` and a dynamic loss scale do not (T is counted on the
 * CPU).
 *
 * @example
 * ```ts
 * import { AdagradDA, VariableStore } from "@webgpu-adagrad/core";
 *
 * const adapter = await navigator.gpu.requestAdapter();
 * const device = await adapter!.requestDevice();
 * const store = new VariableStore(device);
 * const var0 = store.variable("var0", [2], new Float32Array([1, 2]));
 * const opt = new AdagradDA({ learningRate: 3.0, l1RegularizationStrength: 0.001 });
 * await opt.applyGradients([[new Float32Array([0.1, 0.2]), var0]]);
 * console.log(await var0.read()); // ≈ [-0.895489, -1.59555] (TF's testAdagradDAWithL1)
 * device.destroy();
 * ```
 */
export class AdagradDA extends AdagradBase<AdagradDAConfig> {
  /** @ignore */
  protected static override readonly classRule: Rule = ADAGRAD_DA;
  /** @ignore */
  protected static override readonly classVariant: Variant = elementWiseAs("AdagradDA");
  /** TensorFlow's rule: `"adagradDA"`. */
  declare readonly rule: "adagradDA";
  /**
   * Creates the optimizer; GPU resources are made on the first step.
   *
   * @param options TF's arguments in camelCase (`learningRate` required)
   * @throws {TypeError} for an unknown option, a missing learning rate or a value of the wrong type
   * @throws {RangeError} for a value TF refuses: a learning rate or initial squared sum that is not
   *   positive, a negative strength
   */
  constructor(options: AdagradDAOptions) {
    super(options);
  }

  /** TF `initial_gradient_squared_accumulator_value` (also `initialAccumulatorValue`). */
  get initialGradientSquaredAccumulatorValue(): number {
    return this.initialAccumulatorValue;
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
   * import { AdagradDA } from "@webgpu-adagrad/core";
   *
   * const opt = AdagradDA.fromConfig({ learning_rate: 0.1, l2_regularization_strength: 0.5 });
   * console.log(opt.l2RegularizationStrength, opt.getSlotNames());
   * // 0.5 ["gradient_accumulator", "gradient_squared_accumulator"]
   * ```
   *
   * @throws {TypeError} for a key the optimizer does not have
   */
  static fromConfig(config: Partial<AdagradDAConfig> | Record<string, unknown>): AdagradDA {
    return new AdagradDA(ADAGRAD_DA.optionsFromConfig(config) as AdagradDAOptions);
  }
}
