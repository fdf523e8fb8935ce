// What every optimizer of the package shares, whatever its rule: options resolved by a rule, slots,
// the GPU step (StepRunner), Keras's weights API, and the hooks the wrappers and checkpoints use.
// Adagrad (adagrad.ts) adds the Keras and PyTorch factories; the proximal family its own classes.
import type { LossScaleState } from "../_step/loss_scale_state.ts";
import { externalRef } from "../_step/plan.ts";
import { SlotStorage } from "../_step/slot_storage.ts";
import type { StepEntry, VariableRecord } from "../_step/slot_home.ts";
import { ELEMENT_WISE, type Variant } from "../_step/variant.ts";
import { LossScaleMode, ruleKernel } from "../_kernels/specialisation.ts";
import type { StepOptions } from "../_step/step_options.ts";
import { checkWeightList, createWeight } from "./_weights.ts";
import { StepRunner } from "./_step_runner.ts";
import { assertDeviceAlive } from "../device/device_lost.ts";
import { checkGradientList, checkMinimize, finiteNumber } from "../_common/validate.ts";
import {
  checkLearningRate,
  checkLearningRateValue,
  type ResolvedOptions,
} from "../rules/_options.ts";
import type { Rule } from "../rules/rule.ts";
import { KERAS2 } from "../rules/keras2.ts";
import {
  excluded,
  type Exclusions,
  finalizeWithAverages,
  parseExclusions,
} from "./_keras3_methods.ts";
import type { LearningRateSchedule } from "../schedules/learning_rate_schedule.ts";
import { type IterationsWeight, iterationsWeight, type Slot } from "../memory/slot.ts";
import type { VariableRef } from "../memory/gpu_binding.ts";
import type { Gradient, GradientPair } from "./gradients.ts";
import { Variable } from "../memory/variable.ts";

/**
 * For the package's wrappers (not public API), set by Adagrad's static block: validates, encodes
 * and submits one step of `opt` now, throwing bad input synchronously, before anything is
 * encoded; the promise settles with the GPU's verdict (the new `iterations`, or the error).
 */
export let submitStep: (
  opt: AdagradBase<object>,
  pairs: Iterable<GradientPair>,
  options?: StepOptions,
) => Promise<number>;
/** For LossScaleOptimizer (not public API): puts `opt`'s steps under `state`, before its first. */
export let attachLossScale: (opt: AdagradBase<object>, state: LossScaleState) => void;
/**
 * For the package's wrappers and checkpoints (not public API): `opt`'s rule, and its variant
 * (element-wise or row-wise; the class name configs and checkpoints write).
 */
export let optimizerKind: (opt: AdagradBase<object>) => { rule: Rule; variant: Variant };
/**
 * For checkpoints (not public API): what `opt` keeps on the CPU: its calls (Keras 3's raw
 * `iteration`) and PyTorch's per-variable steps (undefined for a variable with no slots).
 */
export let ruleState: (opt: AdagradBase<object>) => {
  readonly iterationsName: "iter" | "iteration";
  /** Whether the rule counts each variable's own steps (PyTorch's), saved with its slots. */
  readonly variableSteps: boolean;
  calls: number;
  stepOf(variable: VariableRef): number | undefined;
  setStep(variable: VariableRef, steps: number): void;
};

/**
 * What every optimizer of this package is, whatever its rule ({@linkcode Adagrad} with its
 * frameworks' factories, {@linkcode RowWiseAdagrad}, and TensorFlow's proximal Adagrads; the API
 * page lists them). It holds the step (`applyGradients`, `minimize`), the slots and Keras's
 * weights API; the classes add their constructors and configs. Not constructed directly. Code
 * that takes any of the optimizers (checkpoints, {@linkcode LossScaleOptimizer}) takes this type.
 *
 * @example
 * ```ts
 * import { Adagrad, type AdagradBase, ProximalAdagrad } from "@webgpu-adagrad/core";
 *
 * const optimizers: AdagradBase<object>[] = [
 *   new Adagrad({ learningRate: 0.1 }),
 *   Adagrad.torch({ lr: 0.1 }),
 *   new ProximalAdagrad({ learningRate: 0.1, l1RegularizationStrength: 0.001 }),
 * ];
 * console.log(optimizers.map((o) => o.rule)); // ["keras2", "torch", "proximal"]
 * ```
 */
export abstract class AdagradBase<Config extends object = object> {
  /** Keras `name`. */
  readonly name: string;
  /** Keras `initial_accumulator_value` (PyTorch's too). */
  readonly initialAccumulatorValue: number;
  /**
   * Keras `epsilon` (0 is replaced by 1e-7, as Keras 2 does); PyTorch `eps`; 0 for TensorFlow's
   * proximal Adagrads, whose kernels have none.
   */
  readonly epsilon: number;
  /** Keras 2 `decay` (0 for the other rules). */
  readonly decay: number;
  /** Whether epsilon goes inside the square root (Keras 3's rule; see {@linkcode AdagradOptions}). */
  readonly epsilonInsideSqrt: boolean;
  /**
   * Which framework's rule, a {@linkcode RuleId}: `"keras2"` (`new Adagrad`,
   * {@linkcode RowWiseAdagrad}), `"keras3"` ({@linkcode Adagrad.keras3}), `"torch"`
   * ({@linkcode Adagrad.torch}), or each other class's or factory's own (its page says which).
   */
  readonly rule: string;
  /**
   * The class's rule and variant, read by the constructor from the class being constructed: each
   * class of the package declares its own (Adagrad's factories construct small subclasses that
   * declare theirs).
   *
   * @ignore
   */
  protected static readonly classRule: Rule = KERAS2;
  /** @ignore */
  protected static readonly classVariant: Variant = ELEMENT_WISE;
  readonly #rule: Rule;
  readonly #variant: Variant;
  /** The class, for messages (from the variant: bundlers rename constructors). */
  readonly #className: string;
  readonly #options: ResolvedOptions;
  readonly #storage: SlotStorage;
  /** The GPU side: device, step pipeline, loss scale, skipped steps. */
  readonly #runner: StepRunner;
  #learningRate: number | LearningRateSchedule;
  /** Calls of applyGradients so far (Keras 3's `_iterations`; `iterations` for the others). */
  #calls = 0;
  /** Slots and `addWeight` weights, in creation order (Keras's `weights` after `iter`). */
  readonly #weights: Slot[] = [];
  readonly #ownWeights = new Set<GPUBuffer>();
  /** Keras 3's exclude_from_weight_decay, and what it says of each variable so far. */
  #exclusions: Exclusions = parseExclusions({});
  #decays = new WeakMap<VariableRecord, boolean>();
  #destroyed = false;

  /**
   * Resolves `options` with the rule of the class being constructed.
   *
   * @param options the class's options
   */
  protected constructor(options: unknown) {
    const rule = new.target.classRule;
    const variant = new.target.classVariant;
    const o = rule.resolve(options);
    this.#className = variant.optimizerClass;
    this.#rule = rule;
    this.#variant = variant;
    this.#options = o;
    this.rule = rule.id;
    this.name = o.name;
    this.initialAccumulatorValue = o.initialAccumulatorValue;
    this.epsilon = o.epsilon;
    this.decay = o.decay;
    this.epsilonInsideSqrt = o.epsilonInsideSqrt;
    this.#learningRate = o.learningRate;
    const storage = new SlotStorage(
      variant,
      rule.slots(o),
      o.name,
      (slot) => this.#weights.push(slot),
      () => this.#assertNotDestroyed(),
    );
    this.#storage = storage;
    this.#runner = new StepRunner({
      name: o.name,
      variant,
      spec: { ...rule.specialisation(o), rule: ruleKernel(rule.kernel) },
      storage,
      // Steps the GPU skipped do not count in `iterations` (Keras's apply_if_finite).
      onSkipped: (fresh) => this.#calls = Math.max(0, this.#calls - fresh),
      checkSparse: (name) => rule.checkSparse(o, name),
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
   * The config with the framework's keys: Keras 2's snake_case `get_config()` (a schedule as
   * `{ class_name, config }`), Keras 3's `get_config()` for the Keras 3 rule, PyTorch's
   * `param_groups` keys for the PyTorch rule. `Adagrad.fromConfig(opt.getConfig())` (or
   * `keras3FromConfig`, `torchFromConfig`) rebuilds the optimizer.
   *
   * @example
   * ```ts
   * import { Adagrad } from "@webgpu-adagrad/core";
   *
   * console.log(new Adagrad().getConfig());
   * // { name: "Adagrad", learning_rate: 0.001, decay: 0, initial_accumulator_value: 0.1, epsilon: 1e-7 }
   * ```
   */
  getConfig(): Config {
    return this.#rule.toConfig(this.#options, this.#learningRate) as Config;
  }

  /** Keras `learning_rate` (PyTorch `lr`), a number or a schedule; used from the next step. */
  get learningRate(): number | LearningRateSchedule {
    return this.#learningRate;
  }

  set learningRate(value: number | LearningRateSchedule) {
    this.#learningRate = this.#rule.checkLearningRate?.(value) ?? checkLearningRate(value);
  }

  /** Keras `lr`: the same as `learningRate`. */
  get lr(): number | LearningRateSchedule {
    return this.#learningRate;
  }

  set lr(value: number | LearningRateSchedule) {
    this.learningRate = value;
  }

  /**
   * Keras `iterations`: the steps applied so far (`applyGradients` calls; with Keras 3's
   * gradient accumulation, the updates, one per `gradientAccumulationSteps` calls). Setting it
   * sets the calls to `iterations` times the accumulation steps.
   */
  get iterations(): number {
    return this.#rule.iterations(this.#options, this.#calls);
  }

  set iterations(value: number) {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`iterations must be a non-negative integer, got ${value}`);
    }
    this.#calls = value * (this.#options.gradientAccumulationSteps ?? 1);
  }

  /**
   * The learning rate the next step will use: the schedule at `iterations` (Keras 3: at the call
   * count) or the number, then divided by `1 + decay * iterations`, in float32 as Keras computes
   * it. PyTorch's `lrDecay` is per variable and not in it.
   */
  get currentLearningRate(): number {
    return this.#call().lrAt(0);
  }

  /** This call's values, from the calls so far. */
  #call() {
    return this.#rule.call(this.#options, this.#calls, this.#learningRate);
  }

  /**
   * Keras `weights`: the iteration count first (`iter`; Keras 3's `iteration`, which counts
   * calls), then the slots and `addWeight` weights in creation order, a variable's slots together
   * (e.g. `["iter", "dense/kernel/accumulator", "dense/bias/accumulator"]`).
   */
  get weights(): readonly (Slot | IterationsWeight)[] {
    return [iterationsWeight(this.#rule.iterationsName), ...this.#weights];
  }

  /** Keras `variables()`: the same list as `weights`. */
  variables(): (Slot | IterationsWeight)[] {
    return [...this.weights];
  }

  /**
   * Keras `get_weights()`: `[iterations, ...values of every slot and weight]`, in the order of
   * `weights` (Keras 3's rule: the call count first). Reads from the GPU; for checkpoints, not for
   * every step.
   */
  async getWeights(): Promise<[number, ...Float32Array[]]> {
    this.#assertAlive();
    const values = await Promise.all(this.#weights.map((w) => w.read()));
    return [this.#calls, ...values];
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
    const [calls, values] = checkWeightList(this.name, weights, this.#weights);
    values.forEach((value, i) => this.#weights[i].write(value));
    this.#calls = calls;
  }

  /**
   * Keras `add_slot()`: creates `variable`'s slots now rather than at its first step (for
   * example to restore them before training), the slot `slotName` filled with `initialValue`
   * (default: its initial value, `initialAccumulatorValue` for the accumulator). Returns the
   * existing slot if there is one. The slots are {@linkcode Adagrad.getSlotNames}'s.
   */
  addSlot(variable: VariableRef, slotName: string, initialValue?: number): Slot {
    this.#assertAlive();
    const k = this.#slotIndex(slotName);
    if (initialValue !== undefined) finiteNumber(initialValue, "initialValue");
    const exists = this.#findRecord(variable, "addSlot");
    if (exists) return exists.slots[k];
    const runner = this.#runner;
    this.#storage.add(variable, runner.device, (d) => runner.prepare(runner.device ?? d).newGroup);
    const slot = this.getSlot(variable, slotName);
    if (initialValue !== undefined && initialValue !== this.#storage.specs[k].initial) {
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

  /**
   * Slot names of this optimizer, its rule's, in the framework's names and order:
   * `["accumulator"]` (Keras 2, `ProximalAdagrad`); Keras 3's rule adds `"average"` (useEma) and
   * `"gradient_accumulator"` (gradientAccumulationSteps) before it; PyTorch's rule has `["sum"]`;
   * each other rule's class or factory says its own.
   */
  getSlotNames(): string[] {
    return this.#storage.specs.map((s) => s.name);
  }

  /**
   * The slot `slotName` of `variable`, created by the first step that gave it a gradient.
   *
   * @throws {RangeError} if the variable has no such slot yet
   */
  getSlot(variable: VariableRef, slotName: string): Slot {
    const k = this.#slotIndex(slotName);
    const record = this.#findRecord(variable, "getSlot");
    if (record) return record.slots[k];
    const name = variable instanceof Variable
      ? variable.name
      : externalRef(variable, "getSlot").name;
    throw new RangeError(
      `variable '${name}' has no '${slotName}' slot yet: no step has updated it`,
    );
  }

  #slotIndex(slotName: string): number {
    const names = this.getSlotNames();
    const k = names.indexOf(slotName);
    if (k < 0) {
      throw new RangeError(
        `${this.#className} has no slot '${slotName}'; its slots are ${
          names.map((n) => `'${n}'`).join(", ")
        }`,
      );
    }
    return k;
  }

  /** The slots of `variable`, if it has them; throws only for a malformed variable. */
  #findRecord(variable: VariableRef, what: string): VariableRecord | undefined {
    if (variable instanceof Variable) return this.#storage.storeRecord(variable);
    return this.#storage.externalRecord(externalRef(variable, what));
  }

  /**
   * Keras 3 `exclude_from_weight_decay()`: variables that weight decay leaves alone, given as
   * objects (`varList`) or as regular expressions searched in their names (`varNames`, joined
   * with `|` as Keras joins them; Keras matches the short name `kernel`, this package the
   * variable's name, e.g. `dense/kernel`). Each call replaces the previous one.
   *
   * @example
   * ```ts ignore
   * const opt = Adagrad.keras3({ learningRate: 0.01, weightDecay: 0.004 });
   * opt.excludeFromWeightDecay({ varNames: ["bias", "norm"] });
   * ```
   *
   * @throws {TypeError} for lists of the wrong type
   */
  excludeFromWeightDecay(
    exclusions: { varList?: readonly VariableRef[]; varNames?: readonly string[] },
  ): void {
    this.#exclusions = parseExclusions(exclusions);
    this.#decays = new WeakMap();
  }

  /** Whether Keras 3's weight decay applies to the variable (cached, as Keras caches it). */
  #decayOf(record: VariableRecord): boolean {
    if (!this.#rule.decays?.(this.#options)) return false;
    let decay = this.#decays.get(record);
    if (decay === undefined) {
      decay = !excluded(this.#exclusions, record.variable);
      this.#decays.set(record, decay);
    }
    return decay;
  }

  /**
   * Keras 3 `finalize_variable_values()`: with `useEma`, overwrites each variable with its moving
   * average (what Keras's `fit()` does at the end of training), in one submit; without it, does
   * nothing. Every variable is checked before anything is written.
   *
   * @example
   * ```ts ignore
   * const opt = Adagrad.keras3({ useEma: true, emaMomentum: 0.9 });
   * // ... steps ...
   * opt.finalizeVariableValues([w, b]);
   * ```
   *
   * @throws {RangeError} for a variable with no average yet (no step has updated it)
   */
  finalizeVariableValues(variables: readonly VariableRef[]): void {
    this.#assertAlive();
    if (!Array.isArray(variables)) {
      throw new TypeError(`finalizeVariableValues: expected an array of variables`);
    }
    if (!this.#options.useEma) return;
    const k = this.getSlotNames().indexOf("average");
    const copies = variables.map((v) => {
      const record = this.#findRecord(v, "finalizeVariableValues");
      if (!record) {
        throw new RangeError(
          `finalizeVariableValues: variable '${
            v instanceof Variable ? v.name : externalRef(v, "finalizeVariableValues").name
          }' has no average yet: no step has updated it`,
        );
      }
      return { average: record.slots[k].region, variable: record.variable };
    });
    const device = this.#runner.device;
    if (device && copies.length > 0) finalizeWithAverages(device, copies);
  }

  /**
   * Keras 3 `scale_loss()`: `loss * lossScaleFactor` with a loss scale factor, else `loss`
   * (then pass the gradients of the scaled loss; the step divides them by the factor).
   *
   * @example
   * ```ts
   * import { Adagrad } from "@webgpu-adagrad/core";
   *
   * console.log(Adagrad.keras3({ lossScaleFactor: 1024 }).scaleLoss(1)); // 1024
   * ```
   */
  scaleLoss(loss: number): number {
    finiteNumber(loss, "scaleLoss: loss");
    const factor = this.#options.lossScaleFactor;
    return factor === undefined ? loss : loss * factor;
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
    const call = this.#call();
    // A schedule may return a bad rate at some step: refused before anything is encoded.
    checkLearningRateValue(call.lrAt(0), "learningRate", this.#calls);
    // PyTorch's per-variable steps, counted as the step is encoded (undone if it fails).
    const stepped: VariableRecord[] = [];
    const variableTerms = (entry: StepEntry) => {
      const record = entry.record;
      if (this.#rule.variableSteps) {
        // Once per variable: the windows of a variable past one binding are one variable.
        if (!entry.piece?.continues) {
          record.updates++;
          stepped.push(record);
        }
        return { decay: 1, lag: call.values.step! - record.updates };
      }
      return { decay: this.#decayOf(record) ? 1 : 0, lag: 0 };
    };
    let outcome: Promise<void> | null;
    try {
      outcome = this.#runner.submit(pairs, options, { ...call, variableTerms });
    } catch (e) {
      for (const record of stepped) record.updates--;
      throw e;
    }
    this.#calls++; // even for a step with no gradient, as Keras does
    // This step's own count, taken now: read when the promise settles it would be the last
    // step's for every step not awaited one by one.
    const iterations = this.iterations;
    return (outcome ?? Promise.resolve()).then(() => iterations, (e) => {
      this.#calls--; // the device is gone, or it rejected the whole command buffer
      for (const record of stepped) record.updates--;
      throw e;
    });
  }

  static {
    submitStep = (opt, pairs, options = {}) => opt.#submitStep(pairs, options);
    attachLossScale = (opt, state) => {
      const dynamic = state.mode === LossScaleMode.dynamic;
      opt.#rule.checkLossScale(opt.#options, dynamic, opt.name);
      opt.#runner.attachLossScale(state);
    };
    optimizerKind = (opt) => ({ rule: opt.#rule, variant: opt.#variant });
    ruleState = (opt) => ({
      iterationsName: opt.#rule.iterationsName,
      variableSteps: opt.#rule.variableSteps ?? false,
      get calls() {
        return opt.#calls;
      },
      set calls(value) {
        opt.#calls = value;
      },
      stepOf: (variable) => opt.#findRecord(variable, "checkpoint")?.updates,
      setStep: (variable, steps) => {
        const record = opt.#findRecord(variable, "checkpoint");
        if (record) record.updates = steps;
      },
    });
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

  /** Frees the optimizer's GPU buffers (slots, tile tables, uniforms). */
  destroy(): void {
    this.#destroyed = true;
    this.#storage.destroy();
    this.#runner.destroy();
    for (const buffer of this.#ownWeights) buffer.destroy();
  }

  #assertNotDestroyed(): void {
    if (this.#destroyed) {
      throw new TypeError(`${this.#className} '${this.name}' was destroyed`);
    }
  }

  #assertAlive(): void {
    this.#assertNotDestroyed();
    assertDeviceAlive(this.#runner.device, `${this.#className} '${this.name}'`);
  }
}
