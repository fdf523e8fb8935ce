// The contract a rule fits: a framework's Adagrad as one object, in one module of this folder
// (its options and defaults in the framework's names, validation and messages, config keys,
// slots, specialisation of the kernels, what each call writes into Params, and what it needs per
// variable), plus one WGSL file, shaders/rules/<kernel>.wgsl. src/optimizers/registry.ts lists
// them with their classes, for the code that rebuilds an optimizer from a config or checkpoint.
// docs/development.md has the recipe for a new rule.
import { ruleKernel, type Specialisation } from "../_kernels/specialisation.ts";
import type { SlotSpec } from "../_step/slot_home.ts";
import type { StepCall } from "../_step/step_call.ts";
import type { LearningRateSchedule } from "../schedules/learning_rate_schedule.ts";
import { learningRateAt, type ResolvedOptions } from "./_options.ts";

/** A framework's Adagrad. `Id` is its `opt.rule`. */
export interface Rule<Id extends string = string> {
  readonly id: Id;
  /** The framework, its version and its class, for messages and docs. */
  readonly framework: string;
  /** Its WGSL file's stem: shaders/rules/<kernel>.wgsl. */
  readonly kernel: string;
  /** The iteration count's weight and checkpoint name (Keras 2 `iter`, Keras 3 `iteration`). */
  readonly iterationsName: "iter" | "iteration";
  /** The learning rate's key in the rule's config (absent: `learning_rate`; PyTorch's `lr`). */
  readonly learningRateKey?: string;
  /**
   * Per-variable step counts (PyTorch's `state["step"]`): each variable's own steps are counted,
   * checkpointed, and written into its tiles as a lag behind the call's step.
   */
  readonly variableSteps?: boolean;
  resolve(options: unknown): ResolvedOptions;
  /** Options from a config as the framework writes it. */
  optionsFromConfig(config: unknown): unknown;
  toConfig(o: ResolvedOptions, learningRate: number | LearningRateSchedule): object;
  /** The slots each variable gets, in the order `weights` lists them. */
  slots(o: ResolvedOptions): SlotSpec[];
  specialisation(o: ResolvedOptions): Specialisation;
  /** The `iterations` the optimizer shows after `calls` calls. */
  iterations(o: ResolvedOptions, calls: number): number;
  /** The call after `calls` calls. */
  call(o: ResolvedOptions, calls: number, learningRate: number | LearningRateSchedule): StepCall;
  /**
   * Whether weight decay applies per variable, subject to `excludeFromWeightDecay` (Keras 3's
   * decoupled decay); absent: no variable decays, or the rule's decay is not per variable.
   */
  decays?(o: ResolvedOptions): boolean;
  /**
   * Throws a TypeError, before anything is encoded, when an IndexedSlices gradient (of variable
   * `name`) cannot be taken with these options.
   */
  checkSparse(o: ResolvedOptions, name: string): void;
  /**
   * A learning rate set after construction, checked as the rule's constructor checks it (absent:
   * the package's check, a finite number >= 0 or a schedule).
   */
  checkLearningRate?(value: unknown): number | LearningRateSchedule;
  /** Throws a TypeError when a LossScaleOptimizer (dynamic or fixed) cannot wrap it. */
  checkLossScale(o: ResolvedOptions, dynamic: boolean, name: string): void;
}

/** The kernels' specialisation for `rule` with options `o`: the rule's, with its WGSL file's RULE. */
export function kernelSpecialisation(rule: Rule, o: ResolvedOptions): Specialisation {
  return { ...rule.specialisation(o), rule: ruleKernel(rule.kernel) };
}

/** lr_t of the call `j` calls back, after `calls` calls, for a StepCall's `lrAt`. */
export const lrOf =
  (o: ResolvedOptions, base: number | LearningRateSchedule, calls: number) => (j: number) =>
    learningRateAt(base, o.decay, Math.max(0, calls - j));
