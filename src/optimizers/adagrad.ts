import type { LossScaleState } from "../_step/loss_scale_state.ts";
import { externalRef } from "../_step/plan.ts";
import { SLOT, SlotStorage } from "../_step/slot_storage.ts";
import { variantOf } from "../_step/variant.ts";
import type { StepOptions } from "../_step/step_options.ts";
import { checkWeightList, createWeight } from "./_weights.ts";
import { StepRunner } from "./_step_runner.ts";
import { assertDeviceAlive } from "../device/device_lost.ts";
import { checkGradientList, checkMinimize, finiteNumber } from "../_common/validate.ts";
import {
  type AdagradConfig,
  type AdagradOptions,
  checkLearningRate,
  learningRateAt,
  optionsFromConfig,
  type ResolvedOptions,
  resolveOptions,
  specialisationOf,
  stepValuesOf,
  toConfig,
} from "./adagrad_config.ts";
import type { LearningRateSchedule } from "../schedules/learning_rate_schedule.ts";
import { ITERATIONS_WEIGHT, type IterationsWeight, type Slot } from "../memory/slot.ts";
import type { VariableRef } from "../memory/gpu_binding.ts";
import type { Gradient, GradientPair } from "./gradients.ts";
import { Variable } from "../memory/variable.ts";

/**
 * For the package's wrappers (not public API), set by Adagrad's static block: validates, encodes
 * and submits one step of `opt` now, throwing bad input synchronously, before anything is
 * encoded; the promise settles with the GPU's verdict (the new `iterations`, or the error).
 */
export let submitStep: (
  opt: Adagrad,
  pairs: Iterable<GradientPair>,
  options?: StepOptions,
) => Promise<number>;
/** For LossScaleOptimizer (not public API): puts `opt`'s steps under `state`, before its first. */
export let attachLossScale: (opt: Adagrad, state: LossScaleState) => void;

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
export class Adagrad {
  /** Keras `name`. */
  readonly name: string;
  /** Keras `initial_accumulator_value`. */
  readonly initialAccumulatorValue: number;
  /** Keras `epsilon` (0 is replaced by 1e-7, as Keras does). */
  readonly epsilon: number;
  /** Keras `decay`. */
  readonly decay: number;
  /** Whether epsilon goes inside the square root (not Keras 2.x; see {@linkcode AdagradOptions}). */
  readonly epsilonInsideSqrt: boolean;
  readonly #options: ResolvedOptions;
  readonly #storage: SlotStorage;
  /** The GPU side: device, step pipeline, loss scale, skipped steps. */
  readonly #runner: StepRunner;
  #learningRate: number | LearningRateSchedule;
  #iterations = 0;
  /** Slots and `addWeight` weights, in creation order (Keras's `weights` after `iter`). */
  readonly #weights: Slot[] = [];
  readonly #ownWeights = new Set<GPUBuffer>();
  #destroyed = false;

  /**
   * Creates the optimizer; GPU resources are made on the first step.
   *
   * @param options Keras's arguments in camelCase; unknown keys are rejected
   * @throws {TypeError} for an unknown option or a value of the wrong type
   * @throws {RangeError} for a non-finite or negative value where Keras forbids one
   */
  constructor(options: AdagradOptions = {}) {
    const o = resolveOptions(options);
    const variant = variantOf(new.target);
    this.#options = o;
    this.name = o.name;
    this.initialAccumulatorValue = o.initialAccumulatorValue;
    this.epsilon = o.epsilon;
    this.decay = o.decay;
    this.epsilonInsideSqrt = o.epsilonInsideSqrt;
    this.#learningRate = o.learningRate;
    const storage = new SlotStorage(
      variant,
      o.initialAccumulatorValue,
      o.name,
      (slot) => this.#weights.push(slot),
      () => this.#assertNotDestroyed(),
    );
    this.#storage = storage;
    this.#runner = new StepRunner({
      name: o.name,
      variant,
      spec: specialisationOf(o),
      storage,
      // Steps the GPU skipped do not count in `iterations` (Keras's apply_if_finite).
      onSkipped: (fresh) => this.#iterations = Math.max(0, this.#iterations - fresh),
    }, o.device);
  }

  /** Keras `clipvalue`, or `undefined`. */
  get clipvalue(): number | undefined {
    return this.#options.clipvalue;
  }

  /** Keras `clipnorm`, or `undefined`. */
  get clipnorm(): number | undefined {
    return this.#options.clipnorm;
  }

  /** Keras `global_clipnorm`, or `undefined`. */
  get globalClipnorm(): number | undefined {
    return this.#options.globalClipnorm;
  }

  /**
   * Builds an optimizer from a config dict: Keras's `get_config()` keys as Python writes them
   * (`learning_rate`, a number or a serialized schedule; the deprecated `lr`;
   * `initial_accumulator_value`, 0.1 when missing, ...), or TF.js's camelCase keys.
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
    return new Adagrad(optionsFromConfig(config));
  }

  /**
   * The config with Keras's snake_case keys (a schedule as `{ class_name, config }`);
   * `Adagrad.fromConfig(opt.getConfig())` rebuilds the optimizer.
   *
   * @example
   * ```ts
   * import { Adagrad } from "@webgpu-adagrad/core";
   *
   * console.log(new Adagrad().getConfig());
   * // { name: "Adagrad", learning_rate: 0.001, decay: 0, initial_accumulator_value: 0.1, epsilon: 1e-7 }
   * ```
   */
  getConfig(): AdagradConfig {
    return toConfig(this.#options, this.#learningRate);
  }

  /** Keras `learning_rate`, a number or a schedule; a new value takes effect at the next step. */
  get learningRate(): number | LearningRateSchedule {
    return this.#learningRate;
  }

  set learningRate(value: number | LearningRateSchedule) {
    this.#learningRate = checkLearningRate(value);
  }

  /** Keras `lr`: the same as `learningRate`. */
  get lr(): number | LearningRateSchedule {
    return this.#learningRate;
  }

  set lr(value: number | LearningRateSchedule) {
    this.learningRate = value;
  }

  /** Number of `applyGradients` calls applied so far (Keras `iterations`). */
  get iterations(): number {
    return this.#iterations;
  }

  set iterations(value: number) {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`iterations must be a non-negative integer, got ${value}`);
    }
    this.#iterations = value;
  }

  /**
   * The learning rate the next step will use: the schedule at `iterations` (or the number), then
   * divided by `1 + decay * iterations`, in float32 as Keras computes it.
   */
  get currentLearningRate(): number {
    return this.#lrAt(this.#iterations);
  }

  #lrAt(step: number): number {
    return learningRateAt(this.#learningRate, this.decay, step);
  }

  /**
   * Keras `weights`: `iter` (the iteration count) first, then the slots and `addWeight` weights
   * in creation order, e.g. `["iter", "dense/kernel/accumulator", "dense/bias/accumulator"]`.
   */
  get weights(): readonly (Slot | IterationsWeight)[] {
    return [ITERATIONS_WEIGHT, ...this.#weights];
  }

  /** Keras `variables()`: the same list as `weights`. */
  variables(): (Slot | IterationsWeight)[] {
    return [ITERATIONS_WEIGHT, ...this.#weights];
  }

  /**
   * Keras `get_weights()`: `[iterations, ...values of every slot and weight]`, in the order of
   * `weights`. Reads from the GPU; for checkpoints, not for every step.
   */
  async getWeights(): Promise<[number, ...Float32Array[]]> {
    this.#assertAlive();
    const values = await Promise.all(this.#weights.map((w) => w.read()));
    return [this.#iterations, ...values];
  }

  /**
   * Keras `set_weights()`: `[iterations, ...values]` in the order of `weights`. As Keras's Adagrad
   * does for Keras 1 lists, a list one shorter (no iteration count) is accepted and sets
   * `iterations` to 0. Everything is checked before anything is written.
   *
   * @throws {RangeError} for a list of the wrong length or a bad iteration count
   * @throws {TypeError} for a value that is not a Float32Array of the weight's size
   */
  setWeights(weights: readonly (number | Float32Array)[]): void {
    this.#assertAlive();
    const [iterations, values] = checkWeightList(this.name, weights, this.#weights);
    values.forEach((value, i) => this.#weights[i].write(value));
    this.#iterations = iterations;
  }

  /**
   * Keras `add_slot()`: creates `variable`'s accumulator now rather than at its first step (for
   * example to restore it before training), filled with `initialValue` (default
   * `initialAccumulatorValue`). Returns the existing slot if there is one. Adagrad has only the
   * `"accumulator"` slot.
   */
  addSlot(variable: VariableRef, slotName: string, initialValue?: number): Slot {
    this.#assertAlive();
    if (slotName !== SLOT) {
      throw new RangeError(`Adagrad has no slot '${slotName}'; its only slot is '${SLOT}'`);
    }
    if (initialValue !== undefined) finiteNumber(initialValue, "initialValue");
    const exists = this.#findSlot(variable, "addSlot");
    if (exists) return exists;
    const runner = this.#runner;
    this.#storage.add(variable, runner.device, (d) => runner.prepare(runner.device ?? d).newGroup);
    const slot = this.getSlot(variable, SLOT);
    if (initialValue !== undefined && initialValue !== this.initialAccumulatorValue) {
      slot.write(initialValue);
    }
    return slot;
  }

  /**
   * Keras `add_weight()`: a float32 weight of the optimizer's own (not tied to a variable),
   * listed in `weights` and saved by `getWeights()`. Adagrad's update does not read it.
   */
  addWeight(name: string, shape: readonly number[], initialValue = 0): Slot {
    this.#assertAlive();
    const device = this.#runner.device;
    const alive = () => this.#assertNotDestroyed();
    const { weight, buffer } = createWeight(device, this.name, name, shape, initialValue, alive);
    this.#ownWeights.add(buffer);
    this.#weights.push(weight);
    return weight;
  }

  /**
   * Keras `minimize()`, without the autodiff: this package computes no gradients, so
   * `computeGradients` does (your shaders, or the CPU) and returns one gradient per variable of
   * `varList`, in order (`null` for none). Then it applies them like `applyGradients`.
   *
   * @example
   * ```ts ignore
   * await opt.minimize(async () => {
   *   runMyBackwardPass(); // writes w.grad and b.grad
   *   return [w.grad, b.grad];
   * }, [w, b]);
   * ```
   */
  async minimize(
    computeGradients: () => readonly Gradient[] | Promise<readonly Gradient[]>,
    varList: readonly VariableRef[],
  ): Promise<number> {
    this.#assertAlive();
    checkMinimize(computeGradients, varList);
    const grads = checkGradientList(await computeGradients(), varList.length);
    return await this.applyGradients(varList.map((v, i) => [grads[i], v] as const));
  }

  /** Slot names of this optimizer: `["accumulator"]`. */
  getSlotNames(): string[] {
    return [SLOT];
  }

  /**
   * The slot `slotName` of `variable`, created by the first step that gave it a gradient.
   *
   * @throws {RangeError} if the variable has no such slot yet
   */
  getSlot(variable: VariableRef, slotName: string): Slot {
    if (slotName !== SLOT) {
      throw new RangeError(`Adagrad has no slot '${slotName}'; its only slot is '${SLOT}'`);
    }
    const slot = this.#findSlot(variable, "getSlot");
    if (slot) return slot;
    const name = variable instanceof Variable
      ? variable.name
      : externalRef(variable, "getSlot").name;
    throw new RangeError(`variable '${name}' has no '${SLOT}' slot yet: no step has updated it`);
  }

  /** The accumulator of `variable`, if it has one; throws only for a malformed variable. */
  #findSlot(variable: VariableRef, what: string): Slot | undefined {
    if (variable instanceof Variable) return this.#storage.storeSlot(variable);
    return this.#storage.externalSlot(externalRef(variable, what));
  }

  /**
   * Applies one Adagrad step to every `[gradient, variable]` pair, in one submit, and increments
   * `iterations` (even for an empty list, as Keras does). Pairs whose gradient is `null` or
   * `undefined` are skipped: their variable and accumulator do not change. Accumulators are
   * created, at `initialAccumulatorValue`, the first time a variable gets a gradient.
   *
   * Every argument is checked before anything is written or encoded. If the GPU rejects the step
   * (for example a buffer destroyed by its owner), the returned promise rejects, no variable or
   * slot changes, and `iterations` is not incremented.
   *
   * @param pairs `[gradient, variable]` pairs, Keras's `zip(grads, vars)` order
   * @returns `iterations` after the step
   * @throws {TypeError} for a malformed pair, a gradient of the wrong type or size, a variable
   *   given twice, or a destroyed store
   * @throws {RangeError} when every gradient is missing, for bytes out of a buffer's range, or
   *   for overlapping variables in one buffer
   */
  async applyGradients(pairs: Iterable<GradientPair>): Promise<number> {
    return await this.#submitStep(pairs, {});
  }

  /**
   * Everything `applyGradients` does up to the submit, synchronously (so TfjsAdagrad can run it
   * inside TF.js's synchronous `applyGradients` and throw bad input at once); the promise settles
   * with the step's outcome. `options.hooks` encode commands before and after the step, in its
   * encoder; `options.scaled` says the gradients come from a loss scale's scaled loss.
   */
  #submitStep(pairs: Iterable<GradientPair>, options: StepOptions): Promise<number> {
    this.#assertAlive();
    const step = this.#iterations;
    const lrAt = (j: number) => this.#lrAt(Math.max(0, step - j));
    const outcome = this.#runner.submit(pairs, options, lrAt, stepValuesOf(this.#options));
    const iterations = ++this.#iterations; // even for a step with no gradient, as Keras does
    return (outcome ?? Promise.resolve()).then(() => iterations, (e) => {
      this.#iterations--; // the device is gone, or it rejected the whole command buffer
      throw e;
    });
  }

  static {
    submitStep = (opt, pairs, options = {}) => opt.#submitStep(pairs, options);
    attachLossScale = (opt, state) => opt.#runner.attachLossScale(state);
  }

  /**
   * How many indices of {@linkcode IndexedSlices} given as GPU buffers were out of range and
   * skipped, since the optimizer was created. Indices on the CPU are checked before the step
   * instead (an out-of-range one is a `RangeError`); GPU-side ones cannot be without a readback,
   * so, as TensorFlow's GPU kernel does, their rows are skipped and counted here. Reads one
   * number back from the GPU: call it when you want to check, not every step.
   *
   * @example
   * ```ts ignore
   * if (await opt.skippedIndices() > 0) console.warn("some embedding ids were out of range");
   * ```
   */
  async skippedIndices(): Promise<number> {
    this.#assertAlive();
    return await this.#runner.skippedIndices();
  }

  /**
   * With `skipNonFinite`: how many steps were skipped because a gradient held a NaN or an
   * infinity, since the optimizer was created (0 without the guard). Reads one number back; it
   * also brings `iterations` up to date at once (the optimizer otherwise learns of skipped steps
   * in the background, every few steps, and the learning rate of each step is exact either way).
   *
   * @example
   * ```ts ignore
   * const opt = new Adagrad({ learningRate: 0.1, skipNonFinite: true });
   * // ... steps ...
   * console.log(await opt.skippedSteps(), opt.iterations);
   * ```
   */
  async skippedSteps(): Promise<number> {
    this.#assertAlive();
    return await this.#runner.skippedSteps();
  }

  /** Frees the optimizer's GPU buffers (accumulators, tile tables, uniforms). */
  destroy(): void {
    this.#destroyed = true;
    this.#storage.destroy();
    this.#runner.destroy();
    for (const buffer of this.#ownWeights) buffer.destroy();
  }

  #assertNotDestroyed(): void {
    if (this.#destroyed) throw new TypeError(`Adagrad '${this.name}' was destroyed`);
  }

  #assertAlive(): void {
    this.#assertNotDestroyed();
    assertDeviceAlive(this.#runner.device, `Adagrad '${this.name}'`);
  }
}
