// An optimizer's state and the work behind its Keras surface: its rule and variant, resolved
// options, learning rate and call count, its slots and weights, its GPU side (StepRunner), and one
// call from pairs to the runner. AdagradBase (adagrad_base.ts) is the public surface over it; the
// package's wrappers and checkpoints reach it through that file's hooks.
import type { LossScaleState } from "../_step/loss_scale_state.ts";
import { externalRef } from "../_step/plan.ts";
import type { VariableRecord } from "../_step/slot_home.ts";
import { SlotStorage } from "../_step/slot_storage.ts";
import type { StepOptions } from "../_step/step_options.ts";
import { StepRunner } from "../_step/step_runner.ts";
import type { Variant } from "../_step/variant.ts";
import { LossScaleMode } from "../_kernels/specialisation.ts";
import { finiteNumber } from "../_common/validate.ts";
import { assertDeviceAlive } from "../device/device_lost.ts";
import type { VariableRef } from "../memory/gpu_binding.ts";
import type { Slot } from "../memory/slot.ts";
import { Variable } from "../memory/variable.ts";
import {
  checkLearningRate,
  checkLearningRateValue,
  type ResolvedOptions,
} from "../rules/_options.ts";
import type { StepCall } from "../_step/step_call.ts";
import { kernelSpecialisation, type Rule } from "../rules/rule.ts";
import type { LearningRateSchedule } from "../schedules/learning_rate_schedule.ts";
import { finalizeWithAverages } from "./_keras3_methods.ts";
import { VariableTermsOf } from "./_variable_terms.ts";
import { checkWeightList, createWeight } from "./_weights.ts";

export class OptimizerCore {
  readonly rule: Rule;
  readonly variant: Variant;
  readonly options: ResolvedOptions;
  /** The class, for messages (from the variant: bundlers rename constructors). */
  readonly className: string;
  readonly storage: SlotStorage;
  /** The GPU side: device, step pipeline, loss scale, skipped steps. */
  readonly runner: StepRunner;
  readonly terms: VariableTermsOf;
  learningRate: number | LearningRateSchedule;
  /** Calls of applyGradients so far (Keras 3's `_iterations`; `iterations` for the others). */
  calls = 0;
  /** Slots and `addWeight` weights, in creation order (Keras's `weights` after `iter`). */
  readonly weights: Slot[] = [];
  readonly #ownWeights = new Set<GPUBuffer>();
  #destroyed = false;

  constructor(rule: Rule, variant: Variant, options: unknown) {
    const o = rule.resolve(options);
    this.rule = rule;
    this.variant = variant;
    this.options = o;
    this.className = variant.optimizerClass;
    this.learningRate = o.learningRate;
    this.terms = new VariableTermsOf(rule, o);
    this.storage = new SlotStorage(
      variant,
      rule.slots(o),
      o.name,
      (slot) => this.weights.push(slot),
      () => this.assertNotDestroyed(),
    );
    this.runner = new StepRunner({
      name: o.name,
      variant,
      spec: kernelSpecialisation(rule, o),
      storage: this.storage,
      // Steps the GPU skipped do not count in `iterations` (Keras's apply_if_finite).
      onSkipped: (fresh) => this.calls = Math.max(0, this.calls - fresh),
      checkSparse: (name) => rule.checkSparse(o, name),
    }, o.device);
  }

  get name(): string {
    return this.options.name;
  }

  /** A learning rate set after construction, checked as the rule's constructor checks it. */
  setLearningRate(value: unknown): void {
    this.learningRate = this.rule.checkLearningRate?.(value) ?? checkLearningRate(value);
  }

  get iterations(): number {
    return this.rule.iterations(this.options, this.calls);
  }

  set iterations(value: number) {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
      throw new RangeError(`iterations must be a non-negative integer, got ${value}`);
    }
    this.calls = value * (this.options.gradientAccumulationSteps ?? 1);
  }

  /** This call's values, from the calls so far. */
  call(): StepCall {
    return this.rule.call(this.options, this.calls, this.learningRate);
  }

  async getWeights(): Promise<[number, ...Float32Array[]]> {
    this.assertAlive();
    const values = await Promise.all(this.weights.map((w) => w.read()));
    return [this.calls, ...values];
  }

  setWeights(weights: readonly (number | Float32Array)[]): void {
    this.assertAlive();
    const [calls, values] = checkWeightList(this.name, weights, this.weights);
    values.forEach((value, i) => this.weights[i].write(value));
    this.calls = calls;
  }

  addSlot(variable: VariableRef, slotName: string, initialValue?: number): Slot {
    this.assertAlive();
    const k = this.slotIndex(slotName);
    if (initialValue !== undefined) finiteNumber(initialValue, "initialValue");
    const exists = this.findRecord(variable, "addSlot");
    if (exists) return exists.slots[k];
    const runner = this.runner;
    this.storage.add(variable, runner.device, (d) => runner.prepare(runner.device ?? d).newGroup);
    const slot = this.getSlot(variable, slotName);
    if (initialValue !== undefined && initialValue !== this.storage.specs[k].initial) {
      slot.write(initialValue);
    }
    return slot;
  }

  addWeight(name: string, shape: readonly number[], initialValue: number): Slot {
    this.assertAlive();
    const alive = () => this.assertNotDestroyed();
    const { weight, buffer } = createWeight(
      this.runner.device,
      this.name,
      name,
      shape,
      initialValue,
      alive,
    );
    this.#ownWeights.add(buffer);
    this.weights.push(weight);
    return weight;
  }

  get slotNames(): string[] {
    return this.storage.specs.map((s) => s.name);
  }

  getSlot(variable: VariableRef, slotName: string): Slot {
    const k = this.slotIndex(slotName);
    const record = this.findRecord(variable, "getSlot");
    if (record) return record.slots[k];
    throw new RangeError(
      `variable '${nameOf(variable, "getSlot")}' has no '${slotName}' slot yet: no step has ` +
        `updated it`,
    );
  }

  slotIndex(slotName: string): number {
    const names = this.slotNames;
    const k = names.indexOf(slotName);
    if (k < 0) {
      throw new RangeError(
        `${this.className} has no slot '${slotName}'; its slots are ${
          names.map((n) => `'${n}'`).join(", ")
        }`,
      );
    }
    return k;
  }

  /** The slots of `variable`, if it has them; throws only for a malformed variable. */
  findRecord(variable: VariableRef, what: string): VariableRecord | undefined {
    if (variable instanceof Variable) return this.storage.storeRecord(variable);
    return this.storage.externalRecord(externalRef(variable, what));
  }

  /** Keras 3's `finalize_variable_values()`: the variables overwritten by their averages. */
  finalizeVariableValues(variables: readonly VariableRef[]): void {
    this.assertAlive();
    if (!Array.isArray(variables)) {
      throw new TypeError(`finalizeVariableValues: expected an array of variables`);
    }
    if (!this.options.useEma) return;
    const k = this.slotNames.indexOf("average");
    const copies = variables.map((v) => {
      const record = this.findRecord(v, "finalizeVariableValues");
      if (!record) {
        throw new RangeError(
          `finalizeVariableValues: variable '${nameOf(v, "finalizeVariableValues")}' has no ` +
            `average yet: no step has updated it`,
        );
      }
      return { average: record.slots[k].region, variable: record.variable };
    });
    const device = this.runner.device;
    if (device && copies.length > 0) finalizeWithAverages(device, copies);
  }

  /**
   * Validates, encodes and submits one call now, throwing bad input synchronously, before
   * anything is encoded; the promise settles with the GPU's verdict (this call's `iterations`).
   */
  submitStep(pairs: unknown, options: StepOptions): Promise<number> {
    this.assertAlive();
    const call = this.call();
    // A schedule may return a bad rate at some step: refused before anything is encoded.
    checkLearningRateValue(call.lrAt(0), "learningRate", this.calls);
    const counted = this.terms.forCall(call);
    let outcome: Promise<void> | null;
    try {
      outcome = this.runner.submit(pairs, options, counted.call);
    } catch (e) {
      counted.undo();
      throw e;
    }
    this.calls++; // even for a step with no gradient, as Keras does
    // This step's own count, taken now: read when the promise settles it would be the last
    // step's for every step not awaited one by one.
    const iterations = this.iterations;
    return (outcome ?? Promise.resolve()).then(() => iterations, (e) => {
      this.calls--; // the device is gone, or it rejected the whole command buffer
      counted.undo();
      throw e;
    });
  }

  /** Puts the steps under a LossScaleOptimizer's `state`, if the rule allows it. */
  attachLossScale(state: LossScaleState): void {
    const dynamic = state.mode === LossScaleMode.dynamic;
    this.rule.checkLossScale(this.options, dynamic, this.name);
    this.runner.attachLossScale(state);
  }

  destroy(): void {
    this.#destroyed = true;
    this.storage.destroy();
    this.runner.destroy();
    for (const buffer of this.#ownWeights) buffer.destroy();
  }

  assertNotDestroyed(): void {
    if (this.#destroyed) {
      throw new TypeError(`${this.className} '${this.name}' was destroyed`);
    }
  }

  assertAlive(): void {
    this.assertNotDestroyed();
    assertDeviceAlive(this.runner.device, `${this.className} '${this.name}'`);
  }
}

/** A variable's name for messages. */
function nameOf(variable: VariableRef, what: string): string {
  return variable instanceof Variable ? variable.name : externalRef(variable, what).name;
}
