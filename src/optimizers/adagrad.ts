import { ELEMENT_WISE } from "../_step/variant.ts";
import { type AdagradConfig, type AdagradOptions, KERAS2 } from "../rules/keras2.ts";
import { KERAS3, type Keras3AdagradConfig, type Keras3AdagradOptions } from "../rules/keras3.ts";
import { TORCH, type TorchAdagradConfig, type TorchAdagradOptions } from "../rules/torch.ts";
import { OPTAX, type OptaxAdagradConfig, type OptaxAdagradOptions } from "../rules/optax.ts";
import type { Rule } from "../rules/rule.ts";
import { AdagradBase } from "./adagrad_base.ts";

/**
 * `tf.keras.optimizers.Adagrad` (TF 2.4-2.10, OptimizerV2) on WebGPU. Per element of every
 * variable with a gradient, in one fused kernel:
 *
 *     accumulator += g * g
 *     variable    -= lr_t * g / (sqrt(accumulator) + epsilon)
 *
 * with `lr_t = learning_rate / (1 + decay * iterations)`. A step is one submit and one dispatch per
 * arena, whatever the number of variables; nothing is read back to the CPU.
 *
 * Keras 3's and PyTorch's Adagrad are the same class with another rule: {@linkcode Adagrad.keras3}
 * and {@linkcode Adagrad.torch}.
 *
 * @example
 * ```ts
 * import { Adagrad, VariableStore } from "@webgpu-adagrad/core";
 *
 * const adapter = await navigator.gpu.requestAdapter();
 * const device = await adapter!.requestDevice();
 * const store = new VariableStore(device);
 * const var0 = store.variable("var0", [2], new Float32Array([1, 2]));
 * const var1 = store.variable("var1", [2], new Float32Array([3, 4]));
 * const opt = new Adagrad({ learningRate: 3.0 });
 * for (let step = 0; step < 3; step++) {
 *   await opt.applyGradients([
 *     [new Float32Array([0.1, 0.1]), var0],
 *     [new Float32Array([0.01, 0.01]), var1],
 *   ]);
 * }
 * console.log(await var0.read()); // ≈ [-1.6026092, -0.6026092] (Keras testBasic)
 * console.log(await opt.getSlot(var0, "accumulator").read()); // ≈ [0.13, 0.13]
 * device.destroy();
 * ```
 */
export class Adagrad<Config extends object = AdagradConfig> extends AdagradBase<Config> {
  /** The framework's rule: Keras 2's (`new Adagrad`), or a factory's. */
  declare readonly rule: "keras2" | "keras3" | "torch" | "optax";
  /**
   * Creates the optimizer; GPU resources are made on the first step.
   *
   * @param options Keras's arguments in camelCase; unknown keys are rejected
   * @throws {TypeError} for an unknown option or a value of the wrong type
   * @throws {RangeError} for a non-finite or negative value where Keras forbids one
   */
  constructor(options: AdagradOptions = {}) {
    super(options);
  }

  /**
   * Keras 3's `keras.optimizers.Adagrad` (Keras 3.x, and tf.keras 2.11-2.15's new optimizer):
   * epsilon inside the square root, and Keras 3's options, all in the fused step:
   *
   *     g      = grad / lossScaleFactor              (every call)
   *     g      = mean of the last N calls' g         (gradientAccumulationSteps N; others only add)
   *     g      = clip(g)                             (clipnorm, clipvalue or globalClipnorm)
   *     var   -= var * weightDecay * lr              (unless excluded)
   *     acc   += g * g
   *     var   -= lr * g / sqrt(acc + epsilon)
   *     avg    = m * avg + (1 - m) * var             (useEma, every call; m 0 on the first step)
   *     var    = avg                                 (every emaOverwriteFrequency updates)
   *
   * Slots: `accumulator`, and `average` and `gradient_accumulator` with their options.
   * `iterations` counts updates; schedules are called with the call count. IndexedSlices are
   * taken without weightDecay, useEma and gradientAccumulationSteps (which act on whole
   * variables), their duplicate indices summed first (as Keras 2 and PyTorch do; Keras 3 appears
   * not to, which differs only for repeated indices).
   *
   * @example
   * ```ts
   * import { Adagrad, VariableStore } from "@webgpu-adagrad/core";
   *
   * const adapter = await navigator.gpu.requestAdapter();
   * const device = await adapter!.requestDevice();
   * const store = new VariableStore(device);
   * const v = store.variable("v", [4], new Float32Array([1, 2, 3, 4]));
   * const opt = Adagrad.keras3({ learningRate: 0.5 });
   * await opt.applyGradients([[new Float32Array([1, 6, 7, 2]), v]]);
   * console.log(await v.read()); // ≈ [0.5233, 1.5007, 2.5005, 3.5061] (Keras 3's test_single_step)
   * device.destroy();
   * ```
   *
   * @param options Keras 3's arguments in camelCase
   * @throws {TypeError} for an unknown option (Keras's "Argument(s) not recognized") or a type
   * @throws {RangeError} for a value Keras 3 refuses, with its message
   */
  static keras3(options: Keras3AdagradOptions = {}): Adagrad<Keras3AdagradConfig> {
    return Adagrad.#withRule(this, KERAS3, options);
  }

  /**
   * PyTorch's `torch.optim.Adagrad` (1.13-2.x): epsilon outside the square root, PyTorch's
   * defaults (lr 0.01, initial accumulator 0, eps 1e-10) and options, in the fused step:
   *
   *     g     = -grad if maximize else grad
   *     g    += weightDecay * var                    (L2, into the accumulator)
   *     clr   = lr / (1 + (step - 1) * lrDecay)      (step: this variable's own count, from 1)
   *     sum  += g * g
   *     var  -= clr * g / (sqrt(sum) + eps)
   *
   * The slot is `sum`; each variable's `step` is kept on the CPU and saved by checkpoints.
   * IndexedSlices are coalesced (duplicates summed) and take no weightDecay, as in PyTorch.
   * There is no clipping option (PyTorch clips outside the optimizer).
   *
   * @example
   * ```ts
   * import { Adagrad, VariableStore } from "@webgpu-adagrad/core";
   *
   * const adapter = await navigator.gpu.requestAdapter();
   * const device = await adapter!.requestDevice();
   * const store = new VariableStore(device);
   * const p = store.variable("p", [3], new Float32Array([1, -2, 3]));
   * const opt = Adagrad.torch({ lr: 0.1, lrDecay: 0.5, weightDecay: 0.1, initialAccumulatorValue: 0.1 });
   * await opt.applyGradients([[new Float32Array([0.5, 0.5, -1]), p]]);
   * console.log(await p.read()); // ≈ [0.9115348, -2.0688247, 3.0911322]
   * console.log(await opt.getSlot(p, "sum").read()); // ≈ [0.46, 0.19, 0.59]
   * device.destroy();
   * ```
   *
   * @param options PyTorch's arguments in camelCase
   * @throws {TypeError} for an unknown option or a value of the wrong type
   * @throws {RangeError} for a negative value, with PyTorch's message
   */
  static torch(options: TorchAdagradOptions = {}): Adagrad<TorchAdagradConfig> {
    return Adagrad.#withRule(this, TORCH, options);
  }

  /**
   * optax's `optax.adagrad` (optax 0.2.x: `scale_by_rss` then `scale_by_learning_rate`), for
   * people porting a JAX model:
   *
   *     sum_of_squares += g * g
   *     var            -= lr * g / sqrt(sum_of_squares + eps)     (0 where sum_of_squares == 0)
   *
   * The slot is `sum_of_squares`; with `initialAccumulatorValue: 0`, an element whose gradient
   * has always been 0 does not move (optax's guard), rather than becoming NaN. optax has no
   * clipping or weight decay inside `adagrad` (it chains them), so neither has this rule. An
   * IndexedSlices gradient updates only its rows, which is optax's step on the dense gradient.
   *
   * @example
   * ```ts
   * import { Adagrad, VariableStore } from "@webgpu-adagrad/core";
   *
   * const adapter = await navigator.gpu.requestAdapter();
   * const device = await adapter!.requestDevice();
   * const store = new VariableStore(device);
   * const x = store.variable("x", [3], new Float32Array([1, 2, 3]));
   * const opt = Adagrad.optax({ learningRate: 1 }); // optax's doctest: f(x) = sum(x^2)
   * await opt.applyGradients([[new Float32Array([2, 4, 6]), x]]);
   * console.log(await x.read()); // ≈ [0.0122704, 1.0031104, 2.001386]
   * console.log(await opt.getSlot(x, "sum_of_squares").read()); // ≈ [4.1, 16.1, 36.1]
   * device.destroy();
   * ```
   *
   * @param options optax's arguments in camelCase
   * @throws {TypeError} for an unknown option, a value of the wrong type, or no learningRate
   * @throws {RangeError} for a negative or non-finite value
   */
  static optax(options: OptaxAdagradOptions): Adagrad<OptaxAdagradConfig> {
    return Adagrad.#withRule(this, OPTAX, options);
  }

  /** Adagrad's class for each other rule: a subclass that declares it (built once). */
  static readonly #ruleClasses = new Map<Rule, new (options: AdagradOptions) => Adagrad>();

  /** An Adagrad of `rule`, from one of the factories called on `Class`. */
  static #withRule<C extends object>(Class: unknown, rule: Rule, options: unknown): Adagrad<C> {
    if ((Class as typeof Adagrad).classVariant !== ELEMENT_WISE) {
      throw new TypeError(
        `${
          (Class as { name?: string }).name
        } has no ${rule.id} rule: the frameworks' rules are element-wise Adagrad`,
      );
    }
    let RuleClass = Adagrad.#ruleClasses.get(rule);
    if (!RuleClass) {
      const ruled = class extends Adagrad {
        protected static override readonly classRule = rule;
      };
      // Messages and stack traces name the public class.
      Object.defineProperty(ruled, "name", { value: "Adagrad" });
      Adagrad.#ruleClasses.set(rule, RuleClass = ruled);
    }
    return new RuleClass(options as AdagradOptions) as unknown as Adagrad<C>;
  }

  /**
   * Builds a Keras 2 optimizer from a config dict: Keras's `get_config()` keys as Python writes
   * them (`learning_rate`, a number or a serialized schedule; the deprecated `lr`;
   * `initial_accumulator_value`, 0.1 when missing, ...), or TF.js's camelCase keys. Keras 3's
   * configs: {@linkcode Adagrad.keras3FromConfig}; PyTorch's: {@linkcode Adagrad.torchFromConfig}.
   *
   * @example
   * ```ts
   * import { Adagrad } from "@webgpu-adagrad/core";
   *
   * const opt = Adagrad.fromConfig({
   *   name: "Adagrad", learning_rate: 0.01, decay: 0.0, initial_accumulator_value: 0.1,
   *   epsilon: 1e-7,
   * });
   * console.log(opt.learningRate); // 0.01
   * ```
   */
  static fromConfig(config: Partial<AdagradConfig> | Record<string, unknown>): Adagrad {
    return new Adagrad(KERAS2.optionsFromConfig(config) as AdagradOptions);
  }

  /**
   * Builds a Keras 3 rule optimizer from Keras 3's `get_config()`, as Python writes it (a
   * schedule as `{ module, class_name, config, registered_name }`; unset options `null`).
   *
   * @example
   * ```ts
   * import { Adagrad } from "@webgpu-adagrad/core";
   *
   * const opt = Adagrad.keras3FromConfig({
   *   name: "adagrad", learning_rate: 0.01, weight_decay: null, clipnorm: null,
   *   global_clipnorm: null, clipvalue: null, use_ema: false, ema_momentum: 0.99,
   *   ema_overwrite_frequency: null, loss_scale_factor: null, gradient_accumulation_steps: null,
   *   initial_accumulator_value: 0.1, epsilon: 1e-7,
   * });
   * console.log(opt.rule, opt.learningRate); // "keras3" 0.01
   * ```
   *
   * @throws {TypeError} for a key Keras 3's Adagrad does not take
   */
  static keras3FromConfig(
    config: Partial<Keras3AdagradConfig> | Record<string, unknown>,
  ): Adagrad<Keras3AdagradConfig> {
    return Adagrad.#withRule(this, KERAS3, KERAS3.optionsFromConfig(config));
  }

  /**
   * Builds a PyTorch rule optimizer from its config or a PyTorch `param_groups` entry (its
   * `params`, `foreach`, `differentiable` and `fused` ignored).
   *
   * @example
   * ```ts
   * import { Adagrad } from "@webgpu-adagrad/core";
   *
   * const group = { lr: 0.1, lr_decay: 0, weight_decay: 0, initial_accumulator_value: 0, eps: 1e-10,
   *   foreach: null, maximize: false, differentiable: false, fused: null, params: [0, 1] };
   * console.log(Adagrad.torchFromConfig(group).rule); // "torch"
   * ```
   *
   * @throws {TypeError} for a key torch.optim.Adagrad does not have
   */
  static torchFromConfig(
    config: Partial<TorchAdagradConfig> | Record<string, unknown>,
  ): Adagrad<TorchAdagradConfig> {
    return Adagrad.#withRule(this, TORCH, TORCH.optionsFromConfig(config));
  }

  /**
   * Builds an optax rule optimizer from its config (`getConfig()`'s output: optax's argument
   * names in snake_case, and the name).
   *
   * @example
   * ```ts
   * import { Adagrad } from "@webgpu-adagrad/core";
   *
   * const opt = Adagrad.optaxFromConfig({ learning_rate: 0.1, initial_accumulator_value: 0 });
   * console.log(opt.rule, opt.initialAccumulatorValue); // "optax" 0
   * ```
   *
   * @throws {TypeError} for a key optax.adagrad does not have
   */
  static optaxFromConfig(
    config: Partial<OptaxAdagradConfig> | Record<string, unknown>,
  ): Adagrad<OptaxAdagradConfig> {
    return Adagrad.#withRule(this, OPTAX, OPTAX.optionsFromConfig(config));
  }
}
