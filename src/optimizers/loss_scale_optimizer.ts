import { LossScaleState } from "../_step/loss_scale_state.ts";
import { checkGradientList, checkMinimize, describe } from "../_common/validate.ts";
import type { Adagrad } from "./adagrad.ts";
import { AdagradBase, attachLossScale, optimizerKind, submitStep } from "./adagrad_base.ts";
import type { AdagradConfig } from "../rules/keras2.ts";
import { CLASS_NAMES, isDefaultRule, registeredRule, type RuleId } from "./registry.ts";
import type { LearningRateSchedule } from "../schedules/learning_rate_schedule.ts";
import type { IterationsWeight, Slot } from "../memory/slot.ts";
import type { VariableRef } from "../memory/gpu_binding.ts";
import type { Gradient, GradientPair } from "./gradients.ts";

/** Keras's defaults for a dynamic scale. */
const DEFAULT_INITIAL_SCALE = 2 ** 15;
const DEFAULT_GROWTH_STEPS = 2000;

/**
 * Options of {@linkcode LossScaleOptimizer}: Keras's arguments in camelCase.
 *
 * @example
 * ```ts
 * import type { LossScaleOptions } from "@webgpu-adagrad/core";
 *
 * const fixed: LossScaleOptions = { dynamic: false, initialScale: 1024 };
 * ```
 */
export interface LossScaleOptions {
  /** Keras `dynamic`: whether the scale adapts (default `true`). */
  dynamic?: boolean;
  /**
   * Keras `initial_scale`: the starting scale; 2**15 by default when dynamic, required when not.
   */
  initialScale?: number;
  /**
   * Keras `dynamic_growth_steps`: finite steps in a row after which a dynamic scale doubles
   * (default 2000); must be left out when the scale is fixed.
   */
  dynamicGrowthSteps?: number;
}

/**
 * What {@linkcode LossScaleOptimizer.getConfig} returns: Keras's `get_config()`.
 *
 * @example
 * ```ts
 * import type { LossScaleConfig } from "@webgpu-adagrad/core";
 *
 * const config: LossScaleConfig = {
 *   inner_optimizer: { class_name: "Adagrad", config: { learning_rate: 0.01 } },
 *   dynamic: true,
 *   initial_scale: 32768,
 *   dynamic_growth_steps: 2000,
 * };
 * ```
 */
export interface LossScaleConfig {
  /** The inner optimizer, serialized as Keras does: `{ class_name, config }`. */
  inner_optimizer: {
    class_name: string;
    config: Partial<AdagradConfig> | Record<string, unknown>;
    /**
     * The inner optimizer's rule when not its class's default (`"keras3"`, `"torch"`, ... for
     * Adagrad); not Keras's key.
     */
    rule?: RuleId;
  };
  /** Whether the scale adapts to overflows (Keras `dynamic`). */
  dynamic: boolean;
  /** The scale at the start (Keras `initial_scale`). */
  initial_scale: number;
  /** Keras `dynamic_growth_steps`: `null` for a fixed scale (Python's `None`). */
  dynamic_growth_steps: number | null;
}

/**
 * Options of one {@linkcode LossScaleOptimizer.applyGradients} call.
 *
 * @example
 * ```ts
 * import type { ApplyScaledOptions } from "@webgpu-adagrad/core";
 *
 * const fused: ApplyScaledOptions = { scaled: true };
 * ```
 */
export interface ApplyScaledOptions {
  /**
   * `true`: the gradients are those of the *scaled* loss, as a backward pass that multiplied its
   * loss gradient by {@linkcode LossScaleOptimizer.scaleBinding} leaves them; the update kernels
   * unscale them in the same pass (Keras's `get_unscaled_gradients`, fused). `false` (default):
   * they are already unscaled, as Keras's `apply_gradients` takes them.
   */
  scaled?: boolean;
}

/** A scale: a number whose float32 value (the GPU's) is finite and positive. */
function positiveNumber(x: unknown, what: string): number {
  if (typeof x !== "number") throw new TypeError(`${what} must be a number, got ${describe(x)}`);
  const f = Math.fround(x);
  if (!Number.isFinite(f) || f <= 0) {
    throw new RangeError(`${what} must be a finite number > 0 in float32, got ${x}`);
  }
  return x;
}

function checkApplyOptions(options: unknown): boolean {
  if (options === undefined) return false;
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`LossScaleOptimizer: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (key !== "scaled") throw new TypeError(`LossScaleOptimizer: unknown option '${key}'`);
  }
  const scaled = (options as ApplyScaledOptions).scaled ?? false;
  if (typeof scaled !== "boolean") {
    throw new TypeError(`LossScaleOptimizer: scaled must be a boolean, got ${describe(scaled)}`);
  }
  return scaled;
}

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
   * @throws {TypeError} when `innerOptimizer` is not an Adagrad (or is already wrapped or used),
   *   for a `dynamic` that is not a boolean, or an unknown option
   * @throws {RangeError} for a fixed scale without `initialScale`, with `dynamicGrowthSteps`, or
   *   for a scale or step count out of range
   */
  constructor(innerOptimizer: AdagradBase<Config>, options: LossScaleOptions = {}) {
    if ((innerOptimizer as unknown) instanceof LossScaleOptimizer) {
      throw new TypeError("LossScaleOptimizer cannot wrap another LossScaleOptimizer");
    }
    if (!(innerOptimizer instanceof AdagradBase)) {
      throw new TypeError(
        `LossScaleOptimizer: innerOptimizer must be an optimizer of this package (` +
          `${CLASS_NAMES.join(", ")}), got ${describe(innerOptimizer)}`,
      );
    }
    if (typeof options !== "object" || options === null) {
      throw new TypeError(
        `LossScaleOptimizer: options must be an object, got ${describe(options)}`,
      );
    }
    for (const key of Object.keys(options)) {
      if (!["dynamic", "initialScale", "dynamicGrowthSteps"].includes(key)) {
        throw new TypeError(`LossScaleOptimizer: unknown option '${key}'`);
      }
    }
    const { dynamic = true, initialScale, dynamicGrowthSteps } = options;
    if (typeof dynamic !== "boolean") {
      throw new TypeError(
        `LossScaleOptimizer: dynamic must be a boolean, got ${describe(dynamic)}`,
      );
    }
    if (dynamic) {
      this.initialScale = initialScale === undefined
        ? DEFAULT_INITIAL_SCALE
        : positiveNumber(initialScale, "initialScale");
      const steps = dynamicGrowthSteps ?? DEFAULT_GROWTH_STEPS;
      if (!Number.isSafeInteger(steps) || steps < 1 || steps > 0xffffffff) {
        throw new RangeError(
          `dynamicGrowthSteps must be an integer from 1 to 2**32 - 1, got ${describe(steps)}`,
        );
      }
      this.dynamicGrowthSteps = steps;
      if ((innerOptimizer.getConfig() as Partial<AdagradConfig>).skip_non_finite) {
        throw new RangeError(
          `LossScaleOptimizer: optimizer '${innerOptimizer.name}' has skipNonFinite, and a ` +
            `dynamic loss scale skips non-finite steps itself; turn one of them off`,
        );
      }
    } else {
      if (initialScale === undefined) {
        throw new RangeError("LossScaleOptimizer: initialScale must be given if dynamic is false");
      }
      if (dynamicGrowthSteps !== undefined) {
        throw new RangeError(
          `LossScaleOptimizer: dynamicGrowthSteps must be left out if dynamic is false, got ` +
            describe(dynamicGrowthSteps),
        );
      }
      this.initialScale = positiveNumber(initialScale, "initialScale");
      this.dynamicGrowthSteps = undefined;
    }
    this.dynamic = dynamic;
    this.innerOptimizer = innerOptimizer;
    this.#state = new LossScaleState(
      dynamic ? 2 : 1,
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
   * @throws {TypeError} for an unknown key or optimizer class
   */
  static fromConfig(config: LossScaleConfig | Record<string, unknown>): LossScaleOptimizer {
    if (typeof config !== "object" || config === null) {
      throw new TypeError(
        `LossScaleOptimizer.fromConfig: expected an object, got ${describe(config)}`,
      );
    }
    const keys = ["inner_optimizer", "dynamic", "initial_scale", "dynamic_growth_steps"];
    for (const key of Object.keys(config)) {
      if (!keys.includes(key)) {
        throw new TypeError(`LossScaleOptimizer.fromConfig: unsupported config key '${key}'`);
      }
    }
    const c = config as Partial<LossScaleConfig>;
    const inner = c.inner_optimizer;
    if (typeof inner !== "object" || inner === null || typeof inner.class_name !== "string") {
      throw new TypeError(
        `LossScaleOptimizer.fromConfig: inner_optimizer must be { class_name, config }, got ` +
          describe(inner),
      );
    }
    const entry = registeredRule(
      inner.class_name,
      inner.rule,
      "LossScaleOptimizer.fromConfig",
      "inner optimizer class",
    );
    // Typed as Keras 2's, the usual case; the inner optimizer is the rule's.
    return new LossScaleOptimizer(entry.fromConfig(inner.config ?? {}) as Adagrad, {
      dynamic: c.dynamic,
      initialScale: c.initial_scale ?? undefined,
      dynamicGrowthSteps: c.dynamic_growth_steps ?? undefined,
    });
  }

  /** Keras `get_config()`: `LossScaleOptimizer.fromConfig(opt.getConfig())` rebuilds it. */
  getConfig(): LossScaleConfig {
    const inner = this.innerOptimizer;
    const className = optimizerKind(inner).variant.optimizerClass;
    return {
      inner_optimizer: {
        class_name: className,
        config: inner.getConfig() as Record<string, unknown>,
        // A rule other than its class's default picks its factory.
        ...(isDefaultRule(className, inner.rule) ? {} : { rule: inner.rule as RuleId }),
      },
      dynamic: this.dynamic,
      initial_scale: this.initialScale,
      dynamic_growth_steps: this.dynamicGrowthSteps ?? null,
    };
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
    positiveNumber(scale, "scale");
    if (!Number.isSafeInteger(goodSteps) || goodSteps < 0 || goodSteps > 0xffffffff) {
      throw new RangeError(`goodSteps must be a non-negative integer, got ${describe(goodSteps)}`);
    }
    if (!this.dynamic && (scale !== this.initialScale || goodSteps !== 0)) {
      throw new RangeError(
        `LossScaleOptimizer: a fixed scale stays ${this.initialScale}, got ${scale}`,
      );
    }
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
    if (typeof loss !== "number") {
      throw new TypeError(`getScaledLoss: loss must be a number, got ${describe(loss)}`);
    }
    return Math.fround(Math.fround(loss) * await this.lossScale());
  }

  /**
   * Keras `get_unscaled_gradients()` for gradients on the CPU: each value times the float32
   * reciprocal of the scale, in float32; `null` and `undefined` are kept.
   */
  async getUnscaledGradients<T extends Float32Array | null | undefined>(
    grads: readonly T[],
  ): Promise<T[]> {
    if (!Array.isArray(grads)) {
      throw new TypeError(`getUnscaledGradients: expected an array, got ${describe(grads)}`);
    }
    grads.forEach((g, i) => {
      if (g !== null && g !== undefined && !(g instanceof Float32Array)) {
        throw new TypeError(
          `getUnscaledGradients: gradient ${i} must be a Float32Array, null or undefined, got ` +
            describe(g),
        );
      }
    });
    const reciprocal = Math.fround(1 / await this.lossScale());
    // Float32Array stores round each product to float32, as Keras's float32 multiply does.
    return grads.map((g) =>
      g ? Float32Array.from(g as Float32Array, (x) => x * reciprocal) as T : g
    );
  }

  /**
   * Keras `apply_gradients()`: one step of the inner optimizer under the loss scale. With a
   * dynamic scale a step whose gradients hold a NaN or an infinity changes no variable or
   * accumulator, halves the scale and still increments `iterations`; this is decided on the GPU.
   *
   * @param pairs `[gradient, variable]` pairs, as {@linkcode Adagrad.applyGradients} takes them
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
