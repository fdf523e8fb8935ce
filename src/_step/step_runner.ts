// An optimizer's GPU side: its device, its step pipeline, a LossScaleOptimizer's state, the
// skipped steps it has learned of, and one step from pairs to a submitted command buffer. The
// optimizer keeps the Keras surface (iterations, the learning rate, slots and weights) and hands
// each call over once, as a StepCall.
import { kernelsFor } from "../_kernels/kernels.ts";
import { LossScaleMode, type Specialisation } from "../_kernels/specialisation.ts";
import type { LossScaleState } from "./loss_scale_state.ts";
import { planStep, warnMissing } from "./plan.ts";
import type { SlotStorage } from "./slot_storage.ts";
import type { StepCall } from "./step_call.ts";
import type { StepOptions } from "./step_options.ts";
import { StepPipeline } from "./step_pipeline.ts";
import type { Variant } from "./variant.ts";
import { assertDeviceAliveSoon, watchDevice } from "../device/device_lost.ts";
import type { StepEntry } from "./slot_home.ts";

/** What the runner asks of its optimizer. */
export interface RunnerOwner {
  readonly name: string;
  readonly variant: Variant;
  readonly spec: Specialisation;
  readonly storage: SlotStorage;
  /** Hears of `fresh` steps the GPU skipped that the optimizer did not know of. */
  onSkipped(fresh: number): void;
  /** Throws, before anything is made, when variable `name`'s IndexedSlices cannot be taken. */
  checkSparse(name: string): void;
}

export class StepRunner {
  device: GPUDevice | undefined;
  readonly #owner: RunnerOwner;
  #pipeline: StepPipeline | null = null;
  #lossScale: LossScaleState | null = null;
  /** Steps the GPU skipped (`skipNonFinite`) that the optimizer already discounts. */
  #skippedKnown = 0;
  readonly #warnedMissing = new Set<string>();

  constructor(owner: RunnerOwner, device: GPUDevice | undefined) {
    this.#owner = owner;
    this.device = device;
  }

  /** Puts the steps under a LossScaleOptimizer's `state`; only before the first. */
  attachLossScale(state: LossScaleState): void {
    const name = this.#owner.name;
    if (this.#lossScale) {
      throw new TypeError(`LossScaleOptimizer: optimizer '${name}' is already wrapped by one`);
    }
    if (this.#pipeline) {
      throw new TypeError(
        `LossScaleOptimizer: optimizer '${name}' has already made its GPU state (a step or ` +
          `addSlot); wrap it before, and restore its weights afterwards if needed`,
      );
    }
    this.#lossScale = state;
  }

  /**
   * Throws, changing nothing, when the loss scale already lives on another device than `device`
   * (made there by `scaleBinding`).
   */
  checkLossScaleDevice(device: GPUDevice | undefined): void {
    const scaleDevice = this.#lossScale?.device;
    if (device && scaleDevice && scaleDevice !== device) {
      throw new TypeError(
        "LossScaleOptimizer: its loss scale lives on another GPUDevice (scaleBinding) than the " +
          "variables of this step",
      );
    }
  }

  /** The pipeline on `device` (the optimizer's from then on), made once. */
  prepare(device: GPUDevice): StepPipeline {
    this.checkLossScaleDevice(device);
    watchDevice(device);
    this.device ??= device;
    if (this.#pipeline) return this.#pipeline;
    const lossScale = this.#lossScale;
    const spec: Specialisation = {
      ...this.#owner.spec,
      lossScale: lossScale?.mode ?? LossScaleMode.none,
    };
    lossScale?.bufferOn(device);
    const kernels = kernelsFor(device, spec);
    return this.#pipeline = new StepPipeline(
      kernels,
      this.#owner.name,
      lossScale,
      this.#owner.variant,
    );
  }

  /**
   * Validates `pairs`, makes missing slots, and submits the step of `call`; null when no pair has
   * a gradient (nothing to do).
   */
  submit(
    pairs: unknown,
    options: StepOptions,
    call: StepCall,
  ): Promise<void> | null {
    const owner = this.#owner;
    const plan = planStep(pairs, {
      device: this.device,
      externalGroups: owner.storage.externals,
      checkExternal: (name) => owner.variant.checkExternal(owner.name, name),
      checkHalfDense: (name) => owner.variant.checkHalfDense(owner.name, name),
      variableNamed: (name) => owner.storage.variableNamed(name),
    });
    if (plan.entries.length === 0) return null;
    for (const e of plan.entries) {
      if (e.grad.kind === "sparse") {
        owner.checkSparse(e.kind === "store" ? e.variable.name : e.ref.name);
      }
    }
    this.checkLossScaleDevice(plan.device);
    warnMissing(this.#warnedMissing, plan.missing);
    const device = this.device ?? plan.device!;
    let pipeline: StepPipeline;
    let entries: StepEntry[];
    try {
      pipeline = this.prepare(device);
      // Slots first (Keras creates them before applying), then the step itself.
      entries = owner.storage.resolve(pipeline.newGroup, device, plan.entries);
    } catch (e) {
      // Every argument was checked: the GPU refused to make the slots, most likely because the
      // device was lost before anything of this package watched it. Say so when it was.
      return assertDeviceAliveSoon(device, `Adagrad '${owner.name}'`).then(() => {
        throw e;
      });
    }
    return pipeline.submit({
      entries,
      name: owner.name,
      call,
      skippedKnown: this.#skippedKnown,
      scaled: options.scaled ?? false,
      hooks: options.hooks,
      onSkipped: (count) => this.#reconcile(count),
    });
  }

  /** GPU-side IndexedSlices indices skipped so far (a readback). */
  async skippedIndices(): Promise<number> {
    return await this.#pipeline?.sparse?.readSkipped() ?? 0;
  }

  /** Steps `skipNonFinite` skipped so far (a readback); the optimizer hears of new ones. */
  async skippedSteps(): Promise<number> {
    const skip = this.#pipeline?.skip;
    if (!skip) return 0;
    const count = await skip.readSkipped();
    this.#reconcile(count);
    return count;
  }

  #reconcile(count: number): void {
    const fresh = count - this.#skippedKnown;
    if (fresh <= 0) return;
    this.#skippedKnown = count;
    this.#owner.onSkipped(fresh);
  }

  destroy(): void {
    this.#pipeline?.destroy();
  }
}
