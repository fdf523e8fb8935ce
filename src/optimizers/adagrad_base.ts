// What every optimizer of the package is, whatever its rule: the public surface (Keras's
// optimizer API, its weights and slots, Keras 3's methods) over an OptimizerCore, which holds the
// state and the work (_optimizer_core.ts), and the hooks the package's wrappers and checkpoints
// use. Each class declares its rule and variant; Adagrad (adagrad.ts) adds the frameworks'
// factories.
import type { LossScaleState } from "../_step/loss_scale_state.ts";
import { ELEMENT_WISE, type Variant } from "../_step/variant.ts";
import type { StepOptions } from "../_step/step_options.ts";
import { checkGradientList, checkMinimize, finiteNumber } from "../_common/validate.ts";
import type { Rule } from "../rules/rule.ts";
import { KERAS2 } from "../rules/keras2.ts";
import type { LearningRateSchedule } from "../schedules/learning_rate_schedule.ts";
import { type IterationsWeight, iterationsWeight, type Slot } from "../memory/slot.ts";
import type { VariableRef } from "../memory/gpu_binding.ts";
import type { Gradient, GradientPair } from "./gradients.ts";
import { OptimizerCore } from "./_optimizer_core.ts";

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
  /** The state and the work behind this surface. */
  readonly #core: OptimizerCore;

  /**
   * Resolves `options` with the rule of the class being constructed.
   *
   * @param options the class's options
   */
  protected constructor(options: unknown) {
    const core = new OptimizerCore(new.target.classRule, new.target.classVariant, options);
    const o = core.options;
    this.#core = core;
    this.rule = core.rule.id;
    this.name = o.name;
    this.initialAccumulatorValue = o.initialAccumulatorValue;
    this.epsilon = o.epsilon;
    this.decay = o.decay;
    this.epsilonInsideSqrt = o.epsilonInsideSqrt;
  }

  /** Keras `clipvalue`, or `undefined`. */
  get clipvalue(): number | undefined {
    return this.#core.options.clipvalue;
  }

  /** Keras `clipnorm`, or `undefined`. */
  get clipnorm(): number | undefined {
    return this.#core.options.clipnorm;
  }

  /** Keras `global_clipnorm`, or `undefined`. */
  get globalClipnorm(): number | undefined {
    return this.#core.options.globalClipnorm;
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
    return this.#core.rule.toConfig(this.#core.options, this.#core.learningRate) as Config;
  }

  /** Keras `learning_rate` (PyTorch `lr`), a number or a schedule; used from the next step. */
  get learningRate(): number | LearningRateSchedule {
    return this.#core.learningRate;
  }

  set learningRate(value: number | LearningRateSchedule) {
    this.#core.setLearningRate(value);
  }

  /** Keras `lr`: the same as `learningRate`. */
  get lr(): number | LearningRateSchedule {
    return this.#core.learningRate;
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
    return this.#core.iterations;
  }

  set iterations(value: number) {
    this.#core.iterations = value;
  }

  /**
   * The learning rate the next step will use: the schedule at `iterations` (Keras 3: at the call
   * count) or the number, then divided by `1 + decay * iterations`, in float32 as Keras computes
   * it. PyTorch's `lrDecay` is per variable and not in it.
   */
  get currentLearningRate(): number {
    return this.#core.call().lrAt(0);
  }

  /**
   * Keras `weights`: the iteration count first (`iter`; Keras 3's `iteration`, which counts
   * calls), then the slots and `addWeight` weights in creation order, a variable's slots together
   * (e.g. `["iter", "dense/kernel/accumulator", "dense/bias/accumulator"]`).
   */
  get weights(): readonly (Slot | IterationsWeight)[] {
    return [iterationsWeight(this.#core.rule.iterationsName), ...this.#core.weights];
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
    return await this.#core.getWeights();
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
    this.#core.setWeights(weights);
  }

  /**
   * Keras `add_slot()`: creates `variable`'s slots now rather than at its first step (for
   * example to restore them before training), the slot `slotName` filled with `initialValue`
   * (default: its initial value, `initialAccumulatorValue` for the accumulator). Returns the
   * existing slot if there is one. The slots are {@linkcode Adagrad.getSlotNames}'s.
   */
  addSlot(variable: VariableRef, slotName: string, initialValue?: number): Slot {
    return this.#core.addSlot(variable, slotName, initialValue);
  }

  /**
   * Keras `add_weight()`: a float32 weight of the optimizer's own (not tied to a variable),
   * listed in `weights` and saved by `getWeights()`. Adagrad's update does not read it.
   */
  addWeight(name: string, shape: readonly number[], initialValue = 0): Slot {
    return this.#core.addWeight(name, shape, initialValue);
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
    this.#core.assertAlive();
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
    return this.#core.slotNames;
  }

  /**
   * The slot `slotName` of `variable`, created by the first step that gave it a gradient.
   *
   * @throws {RangeError} if the variable has no such slot yet
   */
  getSlot(variable: VariableRef, slotName: string): Slot {
    return this.#core.getSlot(variable, slotName);
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
    this.#core.terms.exclude(exclusions);
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
    this.#core.finalizeVariableValues(variables);
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
    const factor = this.#core.options.lossScaleFactor;
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
    return await this.#core.submitStep(pairs, {});
  }

  static {
    submitStep = (opt, pairs, options = {}) => opt.#core.submitStep(pairs, options);
    attachLossScale = (opt, state) => opt.#core.attachLossScale(state);
    optimizerKind = (opt) => ({ rule: opt.#core.rule, variant: opt.#core.variant });
    ruleState = (opt) => {
      const core = opt.#core;
      return {
        iterationsName: core.rule.iterationsName,
        variableSteps: core.rule.variableSteps ?? false,
        get calls() {
          return core.calls;
        },
        set calls(value) {
          core.calls = value;
        },
        stepOf: (variable) => core.findRecord(variable, "checkpoint")?.updates,
        setStep: (variable, steps) => {
          const record = core.findRecord(variable, "checkpoint");
          if (record) record.updates = steps;
        },
      };
    };
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
    this.#core.assertAlive();
    return await this.#core.runner.skippedIndices();
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
    this.#core.assertAlive();
    return await this.#core.runner.skippedSteps();
  }

  /** Frees the optimizer's GPU buffers (slots, tile tables, uniforms). */
  destroy(): void {
    this.#core.destroy();
  }
}
