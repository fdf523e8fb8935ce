// Keras's LossScaleOptimizer as its public surface. Its options and their checks are in
// ./loss_scale_options.ts, its config in ./loss_scale_config.ts, the scaling of values on the CPU
// and a step's `scaled` option in ./loss_scaling.ts; the scale's GPU state is
// ../_step/loss_scale_state.ts, which the inner optimizer's step reads (attachLossScale).
import { LossScaleState } from "../_step/loss_scale_state.ts";
import { LossScaleMode } from "../_kernels/specialisation.ts";
import { checkGradientList, checkMinimize, describe } from "../_common/validate.ts";
import { type AdagradBase, attachLossScale, submitStep } from "./adagrad_base.ts";
import type { AdagradConfig } from "../rules/keras2.ts";
import {
  type LossScaleConfig,
  lossScaleConfig,
  parseLossScaleConfig,
} from "./loss_scale_config.ts";
import { checkScaleState, type LossScaleOptions, lossScaleSettings } from "./loss_scale_options.ts";
import {
  type ApplyScaledOptions,
  checkApplyOptions,
  scaledLoss,
  unscaledGradients,
} from "./loss_scaling.ts";
import type { LearningRateSchedule } from "../schedules/learning_rate_schedule.ts";
import type { IterationsWeight, Slot } from "../memory/slot.ts";
import type { VariableRef } from "../memory/gpu_binding.ts";
import type { Gradient, GradientPair } from "./gradients.ts";

let stateReader: (opt: LossScaleOptimizer<object>) => Promise<{ scale: number; goodSteps: number }>;

/**
 * Keras's `tf.keras.mixed_precision.LossScaleOptimizer` (TF 2.4-2.10) around any optimizer of
 * this package ({@linkcode AdagradBase}): loss scaling for float16 training, on the GPU.
 *
 * A dynamic scale starts at 2**15. After `dynamicGrowthSteps` finite steps in a row it doubles;
 * a step with a NaN or an infinity in any gradient is skipped (variables and accumulators keep
 * their bits, `iterations` still counts it, as in Keras) and halves the scale, never below 1. The
 * scale and its counter live on the GPU: the finiteness check and the update run in the step's
 * one submit, and no step reads anything back. A fixed scale never changes and skips nothing.
 *
 * Gradients reach it in one of two ways:
 * - unscaled, as Keras's `apply_gradients` takes them: `applyGradients(pairs)`;
 * - as they come from the scaled loss: `applyGradients(pairs, { scaled: true })`, and the update
 *   kernels multiply them by 1 / scale in the same pass, before clipping. A backward shader
 *   multiplies its loss gradient by the current scale, read from
 *   {@linkcode LossScaleOptimizer.scaleBinding}.
 *
 * Once wrapped, the inner optimizer's own `applyGradients` also runs under the loss scale (with
 * unscaled gradients). Wrap it before its first step.
 *
 * @example
 * ```ts
 * import { Adagrad, LossScaleOptimizer, VariableStore } from "@webgpu-adagrad/core";
 *
 * const adapter = await navigator.gpu.requestAdapter();
 * const device = await adapter!.requestDevice();
 * const store = new VariableStore(device);
 * const w = store.variable("w", [2], new Float32Array([1, 2]));
 * const opt = new LossScaleOptimizer(new Adagrad({ learningRate: 0.1 }));
 * // Gradients of the loss times 2**15, as a float16 backward pass would make them:
 * const scaled = new Float32Array([0.5 * 2 ** 15, Infinity]);
 * await opt.applyGradients([[scaled, w]], { scaled: true }); // not finite: skipped
 * console.log(await opt.lossScale()); // 16384
 * await opt.applyGradients([[new Float32Array([0.5 * 2 ** 14, 2 ** 13]), w]], { scaled: true });
 * console.log(opt.iterations, await w.read()); // 2, ≈ [0.9154846, 1.9154845]
 * opt.destroy();
 * device.destroy();
 * ```
 */
export class LossScaleOptimizer<Config extends object = AdagradConfig> {
  /** Keras `inner_optimizer`. */
  readonly innerOptimizer: AdagradBase<Config>;
  /** Keras `dynamic`. */
  readonly dynamic: boolean;
  /** Keras `initial_scale`. */
  readonly initialScale: number;
  /** Keras `dynamic_growth_steps`; `undefined` for a fixed scale (Keras's `None`). */
  readonly dynamicGrowthSteps: number | undefined;
  readonly #state: LossScaleState;
  #destroyed = false;

  /**
   * Wraps `innerOptimizer`, which must not have taken a step yet.
   *
   * @throws {TypeError} when `innerOptimizer` is not an optimizer of this package (one of
   *   {@linkcode AdagradBase}'s classes), is already wrapped or has made its GPU state, or follows
   *   a rule that refuses this scale (a dynamic scale where the rule counts steps on the CPU); for
   *   `options` that are not an object, a `dynamic` that is not a boolean, or an unknown option
   * @throws {RangeError} for a fixed scale without `initialScale`, with `dynamicGrowthSteps`, for
   *   a scale or step count out of range, or for a dynamic scale around an optimizer with
   *   `skipNonFinite`
   */
  constructor(innerOptimizer: AdagradBase<Config>, options: LossScaleOptions = {}) {
    if ((innerOptimizer as unknown) instanceof LossScaleOptimizer) {
      throw new TypeError("LossScaleOptimizer cannot wrap another LossScaleOptimizer");
    }
    const settings = lossScaleSettings(innerOptimizer, options);
    this.innerOptimizer = innerOptimizer;
    this.dynamic = settings.dynamic;
    this.initialScale = settings.initialScale;
    this.dynamicGrowthSteps = settings.dynamicGrowthSteps;
    this.#state = new LossScaleState(
      this.dynamic ? LossScaleMode.dynamic : LossScaleMode.fixed,
      this.initialScale,
      this.dynamicGrowthSteps ?? 0,
    );
    attachLossScale(innerOptimizer, this.#state);
  }

  /**
   * Builds the optimizer from Keras's `get_config()` of a LossScaleOptimizer.
   *
   * @example
   * ```ts
   * import { LossScaleOptimizer } from "@webgpu-adagrad/core";
   *
   * const opt = LossScaleOptimizer.fromConfig({
   *   inner_optimizer: { class_name: "Adagrad", config: { learning_rate: 0.01 } },
   *   dynamic: true, initial_scale: 1024, dynamic_growth_steps: 100,
   * });
   * console.log(opt.initialScale, opt.learningRate); // 1024 0.01
   * ```
   *
   * @throws {TypeError} for an unknown key, inner optimizer class or rule; and as the constructor
   *   does, for the options it finds
   */
  static fromConfig(config: LossScaleConfig | Record<string, unknown>): LossScaleOptimizer {
    const { inner, options } = parseLossScaleConfig(config);
    // Typed as Keras 2's, the usual case; the inner optimizer is its class and rule's.
    return new LossScaleOptimizer(inner as AdagradBase<AdagradConfig>, options);
  }

  /** Keras `get_config()`: `LossScaleOptimizer.fromConfig(opt.getConfig())` rebuilds it. */
  getConfig(): LossScaleConfig {
    return lossScaleConfig(this.innerOptimizer, this);
  }

  /**
   * Keras `loss_scale`: the current scale. Reads it back from the GPU once a step has run (with a
   * dynamic scale); for logs and checkpoints, not for every step.
   */
  async lossScale(): Promise<number> {
    this.#assertAlive();
    return (await this.#state.read()).scale;
  }

  /**
   * Keras `dynamic_counter`: finite steps in a row since the dynamic scale last changed, or
   * `null` for a fixed scale. Reads it back from the GPU.
   */
  async dynamicCounter(): Promise<number | null> {
    this.#assertAlive();
    return this.dynamic ? (await this.#state.read()).goodSteps : null;
  }

  /**
   * Sets the scale and the counter, for example to restore them (Keras's `current_loss_scale`
   * and `good_steps` weights). Queued ahead of any later step.
   *
   * @throws {RangeError} for a scale that is not finite and positive, a bad counter, or a fixed
   *   scale other than `initialScale`
   */
  setLossScale(scale: number, goodSteps = 0): void {
    this.#assertAlive();
    checkScaleState(scale, goodSteps, this.dynamic, this.initialScale);
    this.#state.set(scale, goodSteps);
  }

  /**
   * The current scale as a GPU binding, for a backward shader to multiply its loss gradient by:
   * a float32 at offset 0 (`var<storage, read> scale: f32;`), updated on the GPU by every step.
   * The buffer is made on `device` now if no step has made it yet.
   *
   * @example
   * ```ts ignore
   * const bind = device.createBindGroup({
   *   layout, entries: [{ binding: 3, resource: opt.scaleBinding(device) }],
   * });
   * ```
   *
   * @throws {TypeError} when the scale already lives on another device
   */
  scaleBinding(device: GPUDevice): GPUBufferBinding {
    this.#assertAlive();
    if (typeof device !== "object" || device === null || !("createBuffer" in device)) {
      throw new TypeError(`scaleBinding: expected a GPUDevice, got ${describe(device)}`);
    }
    return { buffer: this.#state.bufferOn(device), offset: 0, size: 4 };
  }

  /**
   * Keras `get_scaled_loss()` for a loss on the CPU: `loss * scale` in float32. Reads the scale
   * back (see {@linkcode LossScaleOptimizer.lossScale}).
   */
  async getScaledLoss(loss: number): Promise<number> {
    return await scaledLoss(loss, () => this.lossScale());
  }

  /**
   * Keras `get_unscaled_gradients()` for gradients on the CPU: each value times the float32
   * reciprocal of the scale, in float32; `null` and `undefined` are kept.
   */
  async getUnscaledGradients<T extends Float32Array | null | undefined>(
    grads: readonly T[],
  ): Promise<T[]> {
    return await unscaledGradients(grads, () => this.lossScale());
  }

  /**
   * Keras `apply_gradients()`: one step of the inner optimizer under the loss scale. With a
   * dynamic scale a step whose gradients hold a NaN or an infinity changes no variable or
   * accumulator, halves the scale and still increments `iterations`; this is decided on the GPU.
   *
   * @param pairs `[gradient, variable]` pairs, as {@linkcode AdagradBase.applyGradients} takes them
   * @param options `{ scaled: true }` for gradients of the scaled loss, unscaled in the kernels
   * @returns `iterations` after the step
   */
  applyGradients(pairs: Iterable<GradientPair>, options?: ApplyScaledOptions): Promise<number> {
    try {
      this.#assertAlive();
      return submitStep(this.innerOptimizer, pairs, { scaled: checkApplyOptions(options) });
    } catch (e) {
      return Promise.reject(e); // bad input, found before anything was encoded
    }
  }

  /**
   * Keras `minimize()`, without the autodiff: `computeGradients` returns one gradient per
   * variable of `varList`, then they are applied as {@linkcode LossScaleOptimizer.applyGradients}
   * does, with `options`.
   */
  async minimize(
    computeGradients: () => readonly Gradient[] | Promise<readonly Gradient[]>,
    varList: readonly VariableRef[],
    options?: ApplyScaledOptions,
  ): Promise<number> {
    checkMinimize(computeGradients, varList);
    checkApplyOptions(options);
    const grads = checkGradientList(await computeGradients(), varList.length);
    return await this.applyGradients(varList.map((v, i) => [grads[i], v] as const), options);
  }

  /** Keras `learning_rate`, the inner optimizer's. */
  get learningRate(): number | LearningRateSchedule {
    return this.innerOptimizer.learningRate;
  }

  set learningRate(value: number | LearningRateSchedule) {
    this.innerOptimizer.learningRate = value;
  }

  /** Keras `lr`: the same as `learningRate`. */
  get lr(): number | LearningRateSchedule {
    return this.innerOptimizer.learningRate;
  }

  set lr(value: number | LearningRateSchedule) {
    this.innerOptimizer.learningRate = value;
  }

  /** Keras `decay`, the inner optimizer's. */
  get decay(): number {
    return this.innerOptimizer.decay;
  }

  /** Keras `iterations`, the inner optimizer's (skipped steps count). */
  get iterations(): number {
    return this.innerOptimizer.iterations;
  }

  set iterations(value: number) {
    this.innerOptimizer.iterations = value;
  }

  /** Keras `weights`: the inner optimizer's. */
  get weights(): readonly (Slot | IterationsWeight)[] {
    return this.innerOptimizer.weights;
  }

  /** Keras `get_weights()`: the inner optimizer's. */
  getWeights(): Promise<[number, ...Float32Array[]]> {
    return this.innerOptimizer.getWeights();
  }

  /** Keras `set_weights()`: the inner optimizer's. */
  setWeights(weights: readonly (number | Float32Array)[]): void {
    this.innerOptimizer.setWeights(weights);
  }

  /** Keras `get_slot()`: the inner optimizer's. */
  getSlot(variable: VariableRef, slotName: string): Slot {
    return this.innerOptimizer.getSlot(variable, slotName);
  }

  /** Keras `get_slot_names()`: the inner optimizer's. */
  getSlotNames(): string[] {
    return this.innerOptimizer.getSlotNames();
  }

  /** Frees the GPU state: the inner optimizer's and the loss scale's. */
  destroy(): void {
    this.#destroyed = true;
    this.innerOptimizer.destroy();
    this.#state.destroy();
  }

  #assertAlive(): void {
    if (this.#destroyed) throw new TypeError("LossScaleOptimizer was destroyed");
  }

  static {
    stateReader = (opt) => {
      opt.#assertAlive();
      return opt.#state.read();
    };
  }
}

/** The scale and the counter in one readback, for checkpoints (not public API). */
export function readLossScaleState(
  opt: LossScaleOptimizer<object>,
): Promise<{ scale: number; goodSteps: number }> {
  return stateReader(opt);
}
