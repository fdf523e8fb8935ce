import type { Arena } from "./_arena.ts";
import { ExternalGroup, type ExternalRef } from "./_external.ts";
import { ClipBuffers } from "./_clipping.ts";
import {
  guardKernelsFor,
  type Kernels,
  kernelsFor,
  PARAMS_BYTES,
  sparseKernelsFor,
  type Specialisation,
  TILE_ELEMENTS,
} from "./_kernels.ts";
import { tilesFor } from "./_tiles.ts";
import {
  type ExternalEntry,
  externalRef,
  planStep,
  type SparseSource,
  type StoreEntry,
} from "./_plan.ts";
import { SparseBuffers, type SparsePart } from "./_sparse.ts";
import { GuardBuffers } from "./_guard.ts";
import { rowsOf, rowWiseClasses } from "./_variant.ts";
import { assertDeviceAlive, watchDevice } from "./device_lost.ts";
import { slicesData } from "./indexed_slices.ts";
import {
  createFilledBuffer,
  type GroupMember,
  type SparseMember,
  UpdateGroup,
} from "./_update_group.ts";
import { writeFloats } from "./_transfer.ts";
import { COPY_DST, UNIFORM } from "./_usage.ts";
import { checkShape, describe, finiteNumber } from "./_validate.ts";
import {
  type AdagradConfig,
  type AdagradOptions,
  checkLearningRate,
  optionsFromConfig,
  type ResolvedOptions,
  resolveOptions,
  toConfig,
} from "./adagrad_config.ts";
import { BufferRegion } from "./buffer_region.ts";
import { LearningRateSchedule } from "./learning_rate_schedule.ts";
import { Slot } from "./slot.ts";
import type { Gradient, GradientPair, VariableRef } from "./types.ts";
import { arenaOf, memberIndexOf, Variable } from "./variable.ts";

const SLOT = "accumulator";

/**
 * The first entry of {@linkcode Adagrad.weights}: Keras's `iter` weight, the iteration count,
 * which lives on the CPU here (`opt.iterations`).
 *
 * @example
 * ```ts ignore
 * console.log(opt.weights[0].name); // "iter"
 * ```
 */
export interface IterationsWeight {
  /** `"iter"`. */
  readonly name: "iter";
  /** `[]`: a scalar. */
  readonly shape: readonly number[];
}

/** A sparse gradient of a step, with the group that updates its variable. */
interface SparseStepMember {
  group: UpdateGroup;
  member: GroupMember;
  part: SparsePart;
}

/** An IndexedSlices gradient as the staging buffers take it. */
function sparsePart(source: SparseSource): SparsePart {
  const { slices, rows, width } = source;
  return {
    rows,
    width,
    nnz: slices.nnz,
    indices: slicesData(slices.indices),
    values: slicesData(slices.values),
  };
}

const ITERATIONS_WEIGHT: IterationsWeight = Object.freeze({ name: "iter", shape: [] });

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
  #learningRate: number | LearningRateSchedule;
  #iterations = 0;
  #device: GPUDevice | undefined;
  #params: GPUBuffer | null = null;
  #clip: ClipBuffers | null = null;
  #clipNormsGroup: GPUBindGroup | null = null;
  #sparse: SparseBuffers | null = null;
  #guard: GuardBuffers | null = null;
  /** Steps the GPU skipped (non-finite guard) that `iterations` already discounts. */
  #skippedKnown = 0;
  readonly #spec: Specialisation;
  readonly #paramsData = new Float32Array(PARAMS_BYTES / 4);
  /** Per store arena: its dispatch and the accumulator buffer mirroring its layout. */
  readonly #arenas = new Map<
    Arena,
    { group: UpdateGroup; accumulators: GPUBuffer }
  >();
  /** One accumulator per row (RowWiseAdagrad) rather than per element. */
  readonly #rowWise: boolean;
  readonly #externalGroups = new Map<GPUBuffer, ExternalGroup>();
  readonly #slots = new Map<Variable, Slot>();
  /** Slots of variables in caller-owned buffers, by buffer and `offset:byteLength`. */
  readonly #externalSlots = new Map<GPUBuffer, Map<string, Slot>>();
  /** Slots and `addWeight` weights, in creation order (Keras's `weights` after `iter`). */
  readonly #weights: Slot[] = [];
  readonly #ownWeights = new Set<GPUBuffer>();
  readonly #warnedMissing = new Set<string>();
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
    this.#rowWise = rowWiseClasses.has(new.target);
    this.#options = o;
    this.name = o.name;
    this.initialAccumulatorValue = o.initialAccumulatorValue;
    this.epsilon = o.epsilon;
    this.decay = o.decay;
    this.epsilonInsideSqrt = o.epsilonInsideSqrt;
    this.#learningRate = o.learningRate;
    this.#device = o.device;
    this.#spec = {
      epsilonInsideSqrt: o.epsilonInsideSqrt,
      clipValue: o.clipvalue !== undefined,
      normMode: o.clipnorm !== undefined ? 1 : o.globalClipnorm !== undefined ? 2 : 0,
      guard: o.skipNonFinite,
    };
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
    const f = Math.fround;
    const base = this.#learningRate;
    const lr = f(base instanceof LearningRateSchedule ? base.call(step) : base);
    if (this.decay <= 0) return lr;
    return f(lr / f(1 + f(f(this.decay) * f(step))));
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
    if (!Array.isArray(weights)) {
      throw new TypeError(`setWeights: expected an array, got ${describe(weights)}`);
    }
    const expected = this.#weights.length + 1;
    const list = weights.length === expected - 1 ? [0, ...weights] : weights;
    if (list.length !== expected) {
      throw new RangeError(
        `You called \`set_weights(weights)\` on optimizer ${this.name} with a weight list of ` +
          `length ${weights.length}, but the optimizer was expecting ${expected} weights.`,
      );
    }
    const [iterations, ...values] = list;
    if (typeof iterations !== "number" || !Number.isSafeInteger(iterations) || iterations < 0) {
      throw new RangeError(
        `setWeights: the first weight is the iteration count, a non-negative integer; got ` +
          `${describe(iterations)}`,
      );
    }
    values.forEach((value, i) => {
      const w = this.#weights[i];
      if (!(value instanceof Float32Array) || value.length !== w.size) {
        const shape = value instanceof Float32Array ? `[${value.length}]` : describe(value);
        throw new TypeError(
          `Optimizer weight shape [${w.shape.join(", ")}] not compatible with provided weight ` +
            `shape ${shape} (weight '${w.name}')`,
        );
      }
    });
    values.forEach((value, i) => this.#weights[i].write(value as Float32Array));
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
    if (variable instanceof Variable) {
      const arena = arenaOf(variable);
      arena.assertAlive(`variable '${variable.name}'`);
      if (this.#device && this.#device !== arena.device) {
        throw new TypeError(`variable '${variable.name}' lives on another GPUDevice`);
      }
      this.#device ??= arena.device;
      this.#prepare(this.#device);
      this.#ensureStoreSlot(variable, arena);
    } else {
      const ref = externalRef(variable, "addSlot");
      if (this.#rowWise) this.#assertStoreOnly([{ kind: "external", ref }]);
      if (!this.#device) {
        throw new TypeError("addSlot: pass `device` to the Adagrad constructor first");
      }
      const kernels = this.#prepare(this.#device);
      this.#ensureExternalSlots([{ ref }], kernels);
    }
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
    if (typeof name !== "string" || name.length === 0) {
      throw new TypeError("addWeight: name must be a non-empty string");
    }
    const size = checkShape(shape, `weight '${name}'`);
    finiteNumber(initialValue, "initialValue");
    const device = this.#device;
    if (!device) {
      throw new TypeError(
        "addWeight: the optimizer has no device yet; pass `device` to the constructor or update a variable first",
      );
    }
    const buffer = createFilledBuffer(device, size * 4, initialValue, `${this.name} ${name}`);
    this.#ownWeights.add(buffer);
    const region = new BufferRegion(buffer, 0, size * 4);
    const weight = new Slot(name, "", shape, device, () => region);
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
    if (typeof computeGradients !== "function") {
      throw new TypeError(`minimize: expected a function, got ${describe(computeGradients)}`);
    }
    if (!Array.isArray(varList)) {
      throw new TypeError(`minimize: varList must be an array, got ${describe(varList)}`);
    }
    const grads = await computeGradients();
    if (!Array.isArray(grads) || grads.length !== varList.length) {
      throw new TypeError(
        `minimize: the function returned ${describe(grads)}, expected ${varList.length} gradients`,
      );
    }
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
    if (variable instanceof Variable) return this.#slots.get(variable);
    const ref = externalRef(variable, what);
    return this.#externalSlots.get(ref.buffer)?.get(`${ref.offset}:${ref.byteLength}`);
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
    this.#assertAlive();
    const plan = planStep(pairs, {
      device: this.#device,
      externalGroups: this.#externalGroups,
    });
    if (this.#rowWise) this.#assertStoreOnly(plan.entries);
    if (plan.entries.length === 0) return ++this.#iterations;
    this.#warnMissing(plan.missing);
    const device = this.#device ??= plan.device!;
    const kernels = this.#prepare(device);

    // Slots first (Keras creates them before applying), then the step itself.
    const storeEntries = plan.entries.filter((e): e is StoreEntry => e.kind === "store");
    const externalEntries = plan.entries.filter((e): e is ExternalEntry => e.kind === "external");
    for (const e of storeEntries) this.#ensureStoreSlot(e.variable, e.arena);
    const externalIndex = this.#ensureExternalSlots(externalEntries, kernels);

    device.pushErrorScope("validation");
    const o = this.#options;
    this.#paramsData.set([
      this.currentLearningRate,
      this.epsilon,
      o.clipvalue ?? 0,
      o.clipnorm ?? o.globalClipnorm ?? 0,
    ]);
    device.queue.writeBuffer(this.#params!, 0, this.#paramsData);
    if (this.#spec.guard) {
      this.#guard ??= new GuardBuffers(device, guardKernelsFor(device));
      const step = this.#iterations;
      this.#guard.writeLearningRates(this.#skippedKnown, (j) => this.#lrAt(Math.max(0, step - j)));
    }

    const encoder = device.createCommandEncoder({ label: `${this.name} step` });
    const participants = new Map<UpdateGroup, number[]>();
    const join = (group: UpdateGroup, id: number) => {
      const ids = participants.get(group);
      if (ids) ids.push(id);
      else participants.set(group, [id]);
    };
    const sparse: SparseStepMember[] = [];
    for (const e of storeEntries) {
      const group = this.#arenas.get(e.arena)!.group;
      const member = group.members[e.index];
      if (e.grad.kind === "sparse") {
        sparse.push({ group, member, part: sparsePart(e.grad) });
        continue;
      }
      if (this.#rowWise) {
        // Row-wise: a dense gradient is staged like a sparse one that touches every row once.
        const { rows, width } = rowsOf(e.variable.shape);
        const byteLength = e.variable.byteLength;
        const g = e.grad;
        const values = g.kind === "upload"
          ? g.data
          : g.kind === "copy"
          ? { buffer: g.buffer, offset: g.offset, size: byteLength }
          : { buffer: e.arena.gradBuffer, offset: e.variable.offset, size: byteLength };
        sparse.push({ group, member, part: { rows, width, nnz: rows, indices: null, values } });
        continue;
      }
      const dest = e.arena.gradBuffer;
      this.#stageGradient(device, encoder, e.grad, dest, e.variable.offset, e.variable.byteLength);
      join(group, e.index);
    }
    externalEntries.forEach((e, i) => {
      const group = this.#externalGroups.get(e.ref.buffer)!;
      const index = externalIndex[i];
      if (e.grad.kind === "sparse") {
        sparse.push({
          group: group.group,
          member: group.group.members[index],
          part: sparsePart(e.grad),
        });
        return;
      }
      const offset = group.slotOffsets[index] * 4;
      this.#stageGradient(device, encoder, e.grad, group.gradients, offset, e.ref.byteLength);
      join(group.group, index);
    });
    this.#encodePasses(encoder, kernels, participants, sparse);
    const read = this.#guard?.maybeScheduleRead(encoder);
    device.queue.submit([encoder.finish()]);
    read?.().then((count) => this.#reconcile(count), () => {});
    const iterations = ++this.#iterations;
    const error = await device.popErrorScope();
    try {
      assertDeviceAlive(device, `Adagrad '${this.name}'`);
    } catch (lost) {
      this.#iterations--; // the device is gone: nothing was applied
      throw lost;
    }
    if (error) {
      // The whole command buffer was rejected, so nothing was updated.
      this.#iterations--;
      throw new Error(`Adagrad '${this.name}': the GPU rejected the step: ${error.message}`);
    }
    return iterations;
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
    return this.#sparse ? await this.#sparse.readSkipped() : 0;
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
    if (!this.#guard) return 0;
    const count = await this.#guard.readSkipped();
    this.#reconcile(count);
    return count;
  }

  /** Discounts steps the GPU skipped, learned from its count. */
  #reconcile(count: number): void {
    const fresh = count - this.#skippedKnown;
    if (fresh <= 0) return;
    this.#skippedKnown = count;
    this.#iterations = Math.max(0, this.#iterations - fresh);
  }

  /** Frees the optimizer's GPU buffers (accumulators, tile tables, uniforms). */
  destroy(): void {
    this.#destroyed = true;
    for (const { group, accumulators } of this.#arenas.values()) {
      group.destroy();
      accumulators.destroy();
    }
    for (const group of this.#externalGroups.values()) group.destroy();
    this.#params?.destroy();
    this.#clip?.destroy();
    this.#sparse?.destroy();
    this.#guard?.destroy();
    for (const buffer of this.#ownWeights) buffer.destroy();
  }

  /**
   * Numbers the step's variables and tiles across groups (dense ones first, then sparse ones),
   * then records one compute pass: for sparse gradients, the sort keys and the sort; with norm
   * clipping, the sums of squares (one dispatch per group, one for all sparse value rows) and the
   * norms (one dispatch); then the updates (one dispatch per group, dense and sparse).
   */
  #encodePasses(
    encoder: GPUCommandEncoder,
    kernels: Kernels,
    participants: Map<UpdateGroup, number[]>,
    sparse: readonly SparseStepMember[],
  ): void {
    const clip = this.#clip!;
    const device = this.#device!;
    const norms = kernels.clipNorms !== null;
    let firstVariable = 0;
    let partialBase = 0;
    const firsts: number[] = [];
    const counts: number[] = [];
    for (const [group, ids] of participants) {
      ids.sort((a, b) => a - b);
      group.setParticipants(ids, firstVariable, partialBase);
      if (norms) {
        let tile = partialBase;
        for (const id of ids) {
          const n = tilesFor(group.members[id].length, TILE_ELEMENTS);
          firsts.push(tile);
          counts.push(n);
          tile += n;
        }
      }
      firstVariable += ids.length;
      partialBase += group.tileCount;
    }
    let sparseBuffers: SparseBuffers | null = null;
    const sparseGroups = new Map<UpdateGroup, SparseMember[]>();
    let staged: ReturnType<SparseBuffers["stage"]> = [];
    if (sparse.length > 0) {
      const sparseKernels = sparseKernelsFor(device, this.#spec, this.#rowWise);
      sparseBuffers = this.#sparse ??= new SparseBuffers(device, sparseKernels);
      staged = sparseBuffers.stage(encoder, sparse.map((s) => s.part));
      // The value rows' tile table serves the norms and the non-finite check.
      const layout = norms || this.#guard
        ? sparseBuffers.prepareNorms(staged, firstVariable, partialBase)
        : null;
      if (norms && layout) {
        firsts.push(...layout.firsts);
        counts.push(...layout.counts);
        partialBase += layout.tiles;
      }
      sparse.forEach(({ group, member }, k) => {
        const list = sparseGroups.get(group) ?? [];
        list.push({ member, id: firstVariable + k, staged: staged[k] });
        sparseGroups.set(group, list);
      });
      firstVariable += sparse.length;
    }
    if (norms) {
      if (clip.ensure(partialBase, firstVariable)) {
        // Larger than any step before: every bind group that holds the old buffers is rebuilt.
        for (const { group } of this.#arenas.values()) group.rebind();
        for (const external of this.#externalGroups.values()) external.group.rebind();
        this.#clipNormsGroup = null;
      }
      clip.writeVariableTable(firsts, counts);
      this.#clipNormsGroup ??= device.createBindGroup({
        label: `${this.name} clip norms`,
        layout: kernels.clipNormsLayout,
        entries: [
          { binding: 0, resource: { buffer: this.#params! } },
          { binding: 1, resource: { buffer: clip.variableTable } },
          { binding: 2, resource: { buffer: clip.partials } },
          { binding: 3, resource: { buffer: clip.norms } },
        ],
      });
    }
    // After clip.ensure, which may have reset the groups' bind groups.
    for (const [group, members] of sparseGroups) {
      group.setSparse(members, sparseBuffers!, this.#rowWise);
    }
    const pass = encoder.beginComputePass({ label: `${this.name} update` });
    sparseBuffers?.encodeSort(pass);
    const guard = this.#guard;
    if (guard) {
      pass.setPipeline(guard.kernels.check);
      for (const group of participants.keys()) group.encodeCheck(pass, guard);
      sparseBuffers?.encodeCheck(pass, guard);
      guard.encodeFinalize(pass, clip.norms);
    }
    if (norms) {
      pass.setPipeline(kernels.sumSquares!);
      for (const group of participants.keys()) group.encodeSumSquares(pass);
      sparseBuffers?.encodeSumSquares(pass, kernels, this.#params!, clip.partials);
      pass.setPipeline(kernels.clipNorms!);
      pass.setBindGroup(0, this.#clipNormsGroup!);
      pass.dispatchWorkgroups(1);
    }
    for (const group of participants.keys()) group.encodeUpdate(pass);
    if (sparseBuffers) {
      pass.setPipeline(sparseBuffers.kernels.update);
      for (const group of sparseGroups.keys()) group.encodeSparse(pass);
    }
    pass.end();
  }

  /** The device's kernels, and the optimizer's per-device buffers, made once. */
  #prepare(device: GPUDevice): Kernels {
    watchDevice(device);
    this.#params ??= device.createBuffer({
      label: `${this.name} params`,
      size: PARAMS_BYTES,
      usage: UNIFORM | COPY_DST,
    });
    this.#clip ??= new ClipBuffers(device);
    return kernelsFor(device, this.#spec);
  }

  /** Keras's warning for skipped variables, once per distinct set of names. */
  #warnMissing(names: readonly string[]): void {
    if (names.length === 0) return;
    const list = `[${names.map((n) => `'${n}'`).join(", ")}]`;
    if (this.#warnedMissing.has(list)) return;
    this.#warnedMissing.add(list);
    console.warn(`Gradients do not exist for variables ${list} when minimizing the loss.`);
  }

  /** Row-wise accumulators need the variable's shape, which only store variables carry. */
  #assertStoreOnly(entries: readonly { kind: string; ref?: ExternalRef }[]): void {
    const external = entries.find((e) => e.kind === "external");
    if (external) {
      throw new TypeError(
        `${this.name}: variable '${external.ref!.name}' is in your own buffer; row-wise ` +
          `accumulators need the variable's shape, so use a VariableStore variable`,
      );
    }
  }

  #assertAlive(): void {
    if (this.#destroyed) throw new TypeError(`Adagrad '${this.name}' was destroyed`);
    assertDeviceAlive(this.#device, `Adagrad '${this.name}'`);
  }

  #stageGradient(
    device: GPUDevice,
    encoder: GPUCommandEncoder,
    grad: StoreEntry["grad"],
    dest: GPUBuffer,
    offset: number,
    byteLength: number,
  ): void {
    if (grad.kind === "upload") writeFloats(device, dest, offset, grad.data);
    else if (grad.kind === "copy") {
      encoder.copyBufferToBuffer(grad.buffer, grad.offset, dest, offset, byteLength);
    }
  }

  #ensureStoreSlot(variable: Variable, arena: Arena): void {
    if (this.#slots.has(variable)) return;
    let state = this.#arenas.get(arena);
    if (!state) {
      const device = arena.device;
      // One accumulator buffer per arena, filled once with the initial value: regions of variables
      // that get their slot later are untouched until then. Element-wise, it mirrors the arena's
      // layout; row-wise, it holds each member's rows end to end.
      let slotOffsets = arena.members.map((m) => m.offset / 4);
      let bytes = arena.bufferSize;
      if (this.#rowWise) {
        let next = 0;
        slotOffsets = arena.members.map((m) =>
          (next += rowsOf(m.shape).rows) - rowsOf(m.shape).rows
        );
        bytes = Math.max(16, Math.ceil(next / 4) * 16);
      }
      const accumulators = createFilledBuffer(
        device,
        bytes,
        this.initialAccumulatorValue,
        `${this.name} accumulators ${arena.label} ${arena.index}`,
      );
      const group = new UpdateGroup(
        device,
        kernelsFor(device, this.#spec),
        this.#params!,
        this.#clip!,
        `${this.name} ${arena.label} ${arena.index}`,
      );
      group.configure(
        { variables: { buffer: arena.buffer }, gradients: () => arena.gradBuffer, accumulators },
        arena.members.map((m, i) => ({
          varOffset: m.offset / 4,
          slotOffset: slotOffsets[i],
          length: m.byteLength / 4,
        })),
        !this.#rowWise,
      );
      state = { group, accumulators };
      this.#arenas.set(arena, state);
    }
    const offset = state.group.members[memberIndexOf(variable)].slotOffset * 4;
    const shape = this.#rowWise ? [rowsOf(variable.shape).rows] : variable.shape;
    const size = shape.reduce((a, b) => a * b, 1);
    const region = new BufferRegion(state.accumulators, offset, size * 4);
    const slot = new Slot(SLOT, variable.name, shape, arena.device, () => region);
    this.#slots.set(variable, slot);
    this.#weights.push(slot);
  }

  /** Registers new external variables; returns each entry's member index in its group. */
  #ensureExternalSlots(entries: readonly { ref: ExternalRef }[], kernels: Kernels): number[] {
    const fresh = new Map<GPUBuffer, ExternalRef[]>();
    for (const { ref } of entries) {
      const group = this.#externalGroups.get(ref.buffer);
      if (group && group.indexOf(ref.offset, ref.byteLength) >= 0) continue;
      const list = fresh.get(ref.buffer) ?? [];
      list.push(ref);
      fresh.set(ref.buffer, list);
    }
    for (const [buffer, refs] of fresh) {
      let group = this.#externalGroups.get(buffer);
      if (!group) {
        group = new ExternalGroup(
          this.#device!,
          kernels,
          this.#params!,
          this.#clip!,
          buffer,
          this.initialAccumulatorValue,
        );
        this.#externalGroups.set(buffer, group);
      }
      const indices = group.add(refs);
      refs.forEach((ref, i) => {
        const g = group;
        const index = indices[i];
        const slot = new Slot(
          SLOT,
          ref.name,
          [ref.byteLength / 4],
          this.#device!,
          () => new BufferRegion(g.accumulators, g.slotOffsets[index] * 4, ref.byteLength),
        );
        let slots = this.#externalSlots.get(buffer);
        if (!slots) this.#externalSlots.set(buffer, slots = new Map());
        slots.set(`${ref.offset}:${ref.byteLength}`, slot);
        this.#weights.push(slot);
      });
    }
    return entries.map(({ ref }) =>
      this.#externalGroups.get(ref.buffer)!.indexOf(ref.offset, ref.byteLength)
    );
  }
}
