// TfjsAdagrad, the class's surface: its options, the rule factories, and TF.js's Optimizer methods.
// Each concern is a collaborator it owns and hands what it needs: the mirror sync (TF.js's
// variables copied into the store and back) in _mirrors.ts, getWeights/setWeights in
// _tfjs_weights.ts (with _weights.ts's pending accumulators), the config to and from in
// _tfjs_config.ts, the checks of a call's input in _inputs.ts, TF.js's WebGPU backend in _backend.ts.
import * as tf from "@tensorflow/tfjs-core";
import { Adagrad } from "../optimizers/adagrad.ts";
import { AdagradBase, submitStep } from "../optimizers/adagrad_base.ts";
import { AdagradDA } from "../optimizers/adagrad_da.ts";
import type { GradientPair } from "../optimizers/gradients.ts";
import { ProximalAdagrad } from "../optimizers/proximal_adagrad.ts";
import { RowWiseAdagrad } from "../optimizers/row_wise_adagrad.ts";
import type { AdagradDAOptions } from "../rules/adagrad_da.ts";
import { type AdagradOptions, resolveOptions } from "../rules/keras2.ts";
import type { Keras3AdagradOptions } from "../rules/keras3.ts";
import type { OptaxAdagradOptions } from "../rules/optax.ts";
import type { ProximalAdagradOptions } from "../rules/proximal.ts";
import type { TorchAdagradOptions } from "../rules/torch.ts";
import { LearningRateSchedule } from "../schedules/learning_rate_schedule.ts";
import type { IndexedSlices } from "../sparse/indexed_slices.ts";
import { activeWebGpuBackend, flush, gradientSource, guardReads } from "./_backend.ts";
import { checkedSteps } from "./_inputs.ts";
import { Mirrors } from "./_mirrors.ts";
import { optimizerFromConfig, tfjsConfig } from "./_tfjs_config.ts";
import { TfjsWeights } from "./_tfjs_weights.ts";
import {
  type TfjsConfig,
  TfjsOptimizerBase,
  type TfjsSerializable,
  type TfjsSerializableConstructor,
  type TfjsTensor,
} from "./_types.ts";
import { PendingWeights } from "./_weights.ts";
import type { TfjsNamedTensor } from "./named_tensor.ts";

/**
 * {@linkcode Adagrad}'s options (Keras's, in camelCase), plus `rowWise`. There is no `device`:
 * the optimizer uses the device of TF.js's active WebGPU backend.
 *
 * @example
 * ```ts
 * import type { TfjsAdagradOptions } from "@webgpu-adagrad/core/tfjs";
 *
 * const options: TfjsAdagradOptions = { learningRate: 0.1, clipnorm: 1, rowWise: false };
 * console.log(options.rowWise); // false
 * ```
 */
export interface TfjsAdagradOptions extends Omit<AdagradOptions, "device"> {
  /**
   * One accumulator per row (the variable's first dimension) instead of per element: FBGEMM's
   * and TorchRec's row-wise Adagrad ({@linkcode RowWiseAdagrad}). Default `false` (Keras).
   */
  rowWise?: boolean;
}

/**
 * TF.js's `tf.serialization.ConfigDict`: what `getConfig()` returns.
 *
 * @example
 * ```ts
 * import { TfjsAdagrad, type TfjsConfigDict } from "@webgpu-adagrad/core/tfjs";
 *
 * const opt = new TfjsAdagrad({ learningRate: 0.1 });
 * const config: TfjsConfigDict = opt.getConfig();
 * console.log(config.learning_rate); // 0.1
 * opt.dispose();
 * ```
 */
export type TfjsConfigDict = TfjsConfig;

/**
 * A gradient for {@linkcode TfjsAdagrad.applyGradients}: a float32 `tf.Tensor` of the variable's
 * shape, rows of one ({@linkcode IndexedSlices}, see {@linkcode tfjsIndexedSlices}), or none.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import type { TfjsGradient } from "@webgpu-adagrad/core/tfjs";
 *
 * const grads: Record<string, TfjsGradient> = { w: tf.tensor1d([0.1, 0.2]), b: null };
 * console.log(Object.keys(grads)); // ["w", "b"]
 * ```
 */
export type TfjsGradient = TfjsTensor | IndexedSlices | null | undefined;

/**
 * Keras's Adagrad as a TensorFlow.js `tf.Optimizer`, on TF.js's WebGPU backend: `model.compile`,
 * `model.fit`, `minimize` and `applyGradients` work as with `tf.train.adagrad`, but a call is one
 * fused step over every variable in one submit, after TF.js's queued work is flushed. Variables
 * are updated in their own GPU buffers: no new tensor per step, no readback. The accumulators live
 * in this package's buffers. The rule is Keras 2's (`sqrt(acc) + epsilon`); with
 * `epsilonInsideSqrt: true` it is TF.js's own (`sqrt(acc + epsilon)`). The static factories
 * ({@linkcode TfjsAdagrad.keras3}, {@linkcode TfjsAdagrad.torch}, ...) give the package's other
 * rules.
 *
 * Gradients must be float32 tensors on the active WebGPU backend's device, or
 * {@linkcode IndexedSlices} (see {@linkcode tfjsIndexedSlices}); errors are thrown before anything
 * is written.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-webgpu";
 * import { TfjsAdagrad } from "@webgpu-adagrad/core/tfjs";
 *
 * await tf.setBackend("webgpu");
 * const w = tf.variable(tf.tensor1d([1, 2]), true, "w");
 * const opt = new TfjsAdagrad({ learningRate: 3.0 });
 * opt.applyGradients({ w: tf.tensor1d([0.1, 0.1]) });
 * console.log(await w.data()); // ≈ [0.0954662, 1.0954662], as Keras
 * opt.dispose();
 * ```
 */
export class TfjsAdagrad extends TfjsOptimizerBase {
  /** The name `getClassName()` and `model.save` write; `fromConfig` is registered under it. */
  static get className(): string {
    return "TfjsAdagrad";
  }

  readonly #inner: AdagradBase<object>;
  /** TF.js's variables' copies in the store, on the device of the first step. */
  readonly #mirrors = new Mirrors();
  /** Accumulators given to setWeights before the first step of their variables. */
  readonly #pending: PendingWeights;
  readonly #weights: TfjsWeights;
  /** A GPU verdict that arrived after applyGradients returned, thrown by the next call. */
  #failure: unknown = null;
  #disposed = false;

  /**
   * Checks the options; GPU resources are made at the first step.
   *
   * @param options Keras's arguments in camelCase, and `rowWise`
   * @throws {TypeError} for an unknown option or a value of the wrong type
   * @throws {RangeError} for a non-finite or negative value where Keras forbids one
   */
  constructor(options: TfjsAdagradOptions | AdagradBase<object> = {}) {
    super();
    this.#inner = options instanceof AdagradBase ? unstepped(options) : fromOptions(options);
    this.#pending = new PendingWeights(this.#inner);
    this.#weights = new TfjsWeights(this.#inner, this.#pending);
  }

  /**
   * Keras 3's rule ({@linkcode Adagrad.keras3}) as a TF.js optimizer: every option works in the
   * step (weight decay, EMA with its overwrite, accumulation, the loss scale factor, clipping);
   * `getWeights()` lists every slot; `setWeights()` takes back the accumulators when the optimizer
   * has no `average` or `gradient_accumulator` slot (otherwise save them with `saveCheckpoint` on
   * `adagrad`'s slots). Keras 3's `finalizeVariableValues` has no TF.js counterpart (the
   * variables are TF.js's, copied in and out by each step): use `emaOverwriteFrequency`.
   *
   * @example
   * ```ts ignore
   * const opt = TfjsAdagrad.keras3({ learningRate: 0.01, weightDecay: 0.004 });
   * model.compile({ optimizer: opt, loss: "meanSquaredError" });
   * ```
   *
   * @param options Keras 3's arguments in camelCase (no `device`)
   * @throws {TypeError} for an unknown option, a type, or `device`
   * @throws {RangeError} for a value Keras 3 refuses
   */
  static keras3(options: Omit<Keras3AdagradOptions, "device"> = {}): TfjsAdagrad {
    return TfjsAdagrad.#wrapping(options, (o) => Adagrad.keras3(o));
  }

  /**
   * PyTorch's rule ({@linkcode Adagrad.torch}) as a TF.js optimizer: `lrDecay` (per variable),
   * `weightDecay`, `maximize`; the slot `sum`, which `getWeights` and `setWeights` carry as
   * `<variable>/sum`.
   *
   * @example
   * ```ts ignore
   * const opt = TfjsAdagrad.torch({ lr: 0.05, lrDecay: 1e-4 });
   * ```
   *
   * @param options PyTorch's arguments in camelCase (no `device`)
   * @throws {TypeError} for an unknown option, a type, or `device`
   * @throws {RangeError} for a negative value, with PyTorch's message
   */
  static torch(options: Omit<TorchAdagradOptions, "device"> = {}): TfjsAdagrad {
    return TfjsAdagrad.#wrapping(options, (o) => Adagrad.torch(o));
  }

  /**
   * optax's rule ({@linkcode Adagrad.optax}) as a TF.js optimizer: the slot `sum_of_squares`,
   * which `getWeights` and `setWeights` carry as `<variable>/sum_of_squares`.
   *
   * @example
   * ```ts ignore
   * const opt = TfjsAdagrad.optax({ learningRate: 0.1, initialAccumulatorValue: 0 });
   * ```
   *
   * @param options optax's arguments in camelCase (no `device`)
   * @throws {TypeError} for an unknown option, a type, or `device`
   * @throws {RangeError} for a negative or non-finite value
   */
  static optax(options: Omit<OptaxAdagradOptions, "device">): TfjsAdagrad {
    return TfjsAdagrad.#wrapping(options, (o) => Adagrad.optax(o));
  }

  /**
   * TensorFlow's `ProximalAdagrad` ({@linkcode ProximalAdagrad}) as a TF.js optimizer, which TF.js
   * itself does not have: L1 and L2 by a proximal step, so that L1 leaves weights at exactly zero.
   * The slot `accumulator`, which `getWeights` and `setWeights` carry.
   *
   * @example
   * ```ts ignore
   * const opt = TfjsAdagrad.proximal({ learningRate: 0.1, l1RegularizationStrength: 1e-4 });
   * model.compile({ optimizer: opt, loss: "binaryCrossentropy" });
   * ```
   *
   * @param options TF's arguments in camelCase (no `device`)
   * @throws {TypeError} for an unknown option, a type, or `device`
   * @throws {RangeError} for a value TF refuses
   */
  static proximal(options: Omit<ProximalAdagradOptions, "device">): TfjsAdagrad {
    return TfjsAdagrad.#wrapping(options, (o) => new ProximalAdagrad(o));
  }

  /**
   * TensorFlow's `AdagradDA` ({@linkcode AdagradDA}) as a TF.js optimizer: dual averaging, the
   * weights recomputed from the sums of their gradients. Two slots (`gradient_accumulator`,
   * `gradient_squared_accumulator`): `getWeights` lists both; `setWeights` refuses them (save them
   * with `saveCheckpoint` on `adagrad`'s slots).
   *
   * @example
   * ```ts ignore
   * const opt = TfjsAdagrad.adagradDA({ learningRate: 0.1, l1RegularizationStrength: 1e-4 });
   * ```
   *
   * @param options TF's arguments in camelCase (no `device`)
   * @throws {TypeError} for an unknown option, a type, or `device`
   * @throws {RangeError} for a value TF refuses
   */
  static adagradDA(options: Omit<AdagradDAOptions, "device">): TfjsAdagrad {
    return TfjsAdagrad.#wrapping(options, (o) => new AdagradDA(o));
  }

  static #wrapping<O>(options: O, make: (o: O) => AdagradBase<object>): TfjsAdagrad {
    refuseDevice(options);
    return new TfjsAdagrad(make(options));
  }

  /**
   * The optimizer doing the work (of the class that runs its rule; `rule` names the rule): its
   * options, slots and `getConfig()` (the rule's keys).
   */
  get adagrad(): AdagradBase<object> {
    return this.#inner;
  }

  /** Keras `learning_rate`: a number or a schedule; settable, used from the next step. */
  get learningRate(): number | LearningRateSchedule {
    return this.#inner.learningRate;
  }

  set learningRate(value: number | LearningRateSchedule) {
    this.#inner.learningRate = value;
  }

  /** Steps applied (Keras and TF.js `iterations`). */
  override get iterations(): number {
    return this.#inner.iterations;
  }

  /**
   * TF.js `applyGradients`: one step for every named gradient, given as a `NamedTensorMap`
   * (`{ [variableName]: gradient }`) or a `NamedTensor[]` (`[{ name, tensor }]`); variables are
   * TF.js's registered variables of those names. A missing (`null`) gradient skips its variable,
   * with Keras's warning. Synchronous, as TF.js expects; a rejection by the GPU, found later, is
   * thrown by the next call.
   *
   * @throws {TypeError} when the active backend is not WebGPU, a variable is unknown, lives on
   *   another device or backend, or a gradient is not a float32 tensor of its variable's shape
   * @throws {RangeError} when every gradient is missing
   */
  override applyGradients(
    variableGradients:
      | Record<string, TfjsGradient>
      | readonly { name: string; tensor: TfjsGradient }[],
  ): void {
    this.#assertUsable();
    const backend = this.#mirrors.adopt(activeWebGpuBackend("TfjsAdagrad"));
    // Every check first: nothing is uploaded, created or encoded before they all pass.
    const { steps, given } = checkedSteps(backend, variableGradients);
    const fresh = given.filter((s) => !this.#mirrors.has(s.name));
    this.#pending.check(fresh.map((s) => s.variable), this.#mirrors.names);

    // Every check passed. Variables whose data other tensors share get data of their own (our
    // copy-out writes in place); TF.js's data goes to the GPU; its queued commands are submitted
    // ahead of ours.
    guardReads(backend);
    const moves = this.#mirrors.moves(backend, given);
    // A missing gradient is passed on (for Keras's warning) only for a variable with a mirror.
    const pairs: GradientPair[] = steps
      .filter((s) => s.gradient != null || this.#mirrors.has(s.name))
      .map((s) => [
        s.gradient instanceof tf.Tensor ? gradientSource(backend, s.gradient) : s.gradient,
        this.#mirrors.mirror(s.name, s.variable),
      ]);
    flush(backend);
    this.#pending.restore(this.#mirrors.variables);

    const outcome = submitStep(this.#inner, pairs, { hooks: this.#mirrors.hooks(moves) });
    this.#mirrors.copiedOut(backend, moves);
    outcome.catch((e) => {
      this.#mirrors.unsync(); // the command buffer may not have run: copy everything in next time
      this.#failure ??= e;
    });
  }

  /**
   * TF.js `getWeights()`: `iter` (int32 scalar) first, then each slot as `<variable>/<slot>` for
   * every variable in the order of their first gradient: `<variable>/accumulator`, as
   * `tf.train.adagrad` names them, for Keras's rule (the factories say their rules' slots). Reads
   * the GPU; the tensors stay valid until the next `getWeights()` or `dispose()` (clone to keep
   * them), so that saving a model with `includeOptimizer` leaks nothing.
   */
  override async getWeights(): Promise<TfjsNamedTensor[]> {
    this.#assertUsable();
    return await this.#weights.get();
  }

  /**
   * TF.js `setWeights()`: `iter`, then accumulators named `<variable>/<slot>` (Keras's rule:
   * `<variable>/accumulator`), for an optimizer of one slot. An accumulator is matched to a
   * variable by name, or else by position among the variables of the first step (what
   * `tf.train.adagrad` does, and what a reloaded model whose variables were renamed needs);
   * accumulators of variables the optimizer has not seen yet are kept until their first step.
   *
   * @throws {TypeError} when the optimizer has more than one slot, the list does not start with
   *   `iter`, an entry is not a tensor, or an accumulator does not fit its variable
   * @throws {RangeError} when `iter` is negative or not an integer
   */
  override async setWeights(weightValues: TfjsNamedTensor[]): Promise<void> {
    this.#assertUsable();
    await this.#weights.set(weightValues, this.#mirrors);
  }

  /**
   * The config, with the rule's keys as {@linkcode Adagrad.getConfig} writes them, plus `row_wise`
   * when set and `rule` for every rule but Keras 2's; `model.save` stores it and
   * `TfjsAdagrad.fromConfig` reads it back.
   */
  override getConfig(): TfjsConfigDict {
    return tfjsConfig(this.#inner);
  }

  /**
   * Rebuilds an optimizer from `getConfig()`'s output, in Keras's snake_case or in the camelCase
   * TF.js's model loader turns it into. TF.js's `(cls, config)` signature: use
   * `TfjsAdagrad.fromConfig(TfjsAdagrad, config)`; registered with
   * `tf.serialization.registerClass`, so loading a saved model restores the optimizer.
   */
  static override fromConfig<T extends TfjsSerializable>(
    cls: TfjsSerializableConstructor<T>,
    config: TfjsConfig,
  ): T {
    return new (cls as unknown as new (o: AdagradBase<object>) => T)(optimizerFromConfig(config));
  }

  /** Frees the accumulators, the working copies of the variables and every other GPU buffer. */
  override dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#weights.dispose();
    this.#inner.destroy();
    this.#mirrors.destroy();
  }

  #assertUsable(): void {
    if (this.#disposed) throw new TypeError("TfjsAdagrad: the optimizer was disposed");
    const failure = this.#failure;
    if (failure !== null) {
      this.#failure = null;
      throw failure;
    }
  }
}

/** An optimizer to wrap, which must not have taken steps yet. */
function unstepped(inner: AdagradBase<object>): AdagradBase<object> {
  if (inner.iterations !== 0) {
    throw new TypeError(
      `TfjsAdagrad: optimizer '${inner.name}' has already taken steps; wrap a new one`,
    );
  }
  return inner;
}

/** Keras's Adagrad, or the row-wise one, from TfjsAdagrad's options. */
function fromOptions(options: TfjsAdagradOptions): AdagradBase<object> {
  // tf.train.adagrad takes the learning rate first; a number here would be dropped silently.
  const named = typeof options === "object" && options !== null &&
    !(options instanceof LearningRateSchedule);
  if (!named) resolveOptions(options); // throws, saying how to pass it
  const { rowWise, ...rest } = options ?? {};
  if (rowWise !== undefined && typeof rowWise !== "boolean") {
    throw new TypeError(`TfjsAdagrad: rowWise must be a boolean, got ${String(rowWise)}`);
  }
  refuseDevice(rest);
  return rowWise ? new RowWiseAdagrad(rest) : new Adagrad(rest);
}

/** Throws when TfjsAdagrad's options name a device: it uses the active backend's. */
function refuseDevice(options: unknown): void {
  if (typeof options === "object" && options !== null && "device" in options) {
    throw new TypeError(
      "TfjsAdagrad: no `device` option; it uses the device of TF.js's active WebGPU backend " +
        "(see useDeviceForTfjs)",
    );
  }
}

// Registered when this module loads (the npm package's `sideEffects` names this file).
tf.serialization.registerClass(TfjsAdagrad);
