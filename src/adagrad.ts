import type { Arena } from "./_arena.ts";
import { ExternalGroup, type ExternalRef } from "./_external.ts";
import { ClipBuffers } from "./_clipping.ts";
import {
  type Kernels,
  kernelsFor,
  PARAMS_BYTES,
  type Specialisation,
  TILE_ELEMENTS,
} from "./_kernels.ts";
import { tilesFor } from "./_tiles.ts";
import { type ExternalEntry, planStep, type StoreEntry } from "./_plan.ts";
import { createFilledBuffer, UpdateGroup } from "./_update_group.ts";
import { writeFloats } from "./_transfer.ts";
import { COPY_DST, UNIFORM } from "./_usage.ts";
import { isGpuBuffer } from "./_validate.ts";
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
import type { GradientPair, VariableRef } from "./types.ts";
import { Variable } from "./variable.ts";

const SLOT = "accumulator";

interface SlotRecord {
  slot: Slot;
  key: Variable | ExternalRef;
}

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
  readonly #spec: Specialisation;
  readonly #paramsData = new Float32Array(PARAMS_BYTES / 4);
  /** Per store arena: its dispatch and the accumulator buffer mirroring its layout. */
  readonly #arenas = new Map<Arena, { group: UpdateGroup; accumulators: GPUBuffer }>();
  readonly #externalGroups = new Map<GPUBuffer, ExternalGroup>();
  readonly #slots = new Map<Variable, Slot>();
  readonly #slotOrder: SlotRecord[] = [];
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
    const f = Math.fround;
    const step = this.#iterations;
    const base = this.#learningRate;
    const lr = f(base instanceof LearningRateSchedule ? base.call(step) : base);
    if (this.decay <= 0) return lr;
    return f(lr / f(1 + f(f(this.decay) * f(step))));
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
    if (variable instanceof Variable) {
      const slot = this.#slots.get(variable);
      if (slot) return slot;
      throw new RangeError(
        `variable '${variable.name}' has no '${SLOT}' slot yet: no step has updated it`,
      );
    }
    const binding = isGpuBuffer(variable) ? { buffer: variable } : variable;
    const group = binding && this.#externalGroups.get(binding.buffer);
    const offset = binding?.offset ?? 0;
    const size = binding?.size ?? (binding ? binding.buffer.size - offset : 0);
    const found = this.#slotOrder.find((r) =>
      !(r.key instanceof Variable) && r.key.buffer === binding?.buffer &&
      r.key.offset === offset && r.key.byteLength === size
    );
    if (!group || !found) {
      throw new RangeError(`this variable has no '${SLOT}' slot yet: no step has updated it`);
    }
    return found.slot;
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
    if (plan.entries.length === 0) return ++this.#iterations;
    const device = this.#device ??= plan.device!;
    const kernels = kernelsFor(device, this.#spec);
    this.#params ??= device.createBuffer({
      label: `${this.name} params`,
      size: PARAMS_BYTES,
      usage: UNIFORM | COPY_DST,
    });
    this.#clip ??= new ClipBuffers(device);

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
    device.queue.writeBuffer(this.#params, 0, this.#paramsData);

    const encoder = device.createCommandEncoder({ label: `${this.name} step` });
    const participants = new Map<UpdateGroup, number[]>();
    const join = (group: UpdateGroup, id: number) => {
      const ids = participants.get(group);
      if (ids) ids.push(id);
      else participants.set(group, [id]);
    };
    for (const e of storeEntries) {
      const dest = e.arena.gradBuffer;
      this.#stageGradient(device, encoder, e.grad, dest, e.variable.offset, e.variable.byteLength);
      join(this.#arenas.get(e.arena)!.group, e.index);
    }
    externalEntries.forEach((e, i) => {
      const group = this.#externalGroups.get(e.ref.buffer)!;
      const index = externalIndex[i];
      const offset = group.slotOffsets[index] * 4;
      this.#stageGradient(device, encoder, e.grad, group.gradients, offset, e.ref.byteLength);
      join(group.group, index);
    });
    this.#encodePasses(encoder, kernels, participants);
    device.queue.submit([encoder.finish()]);
    const iterations = ++this.#iterations;
    const error = await device.popErrorScope();
    if (error) {
      // The whole command buffer was rejected, so nothing was updated.
      this.#iterations--;
      throw new Error(`Adagrad '${this.name}': the GPU rejected the step: ${error.message}`);
    }
    return iterations;
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
  }

  /**
   * Numbers the step's variables and tiles across groups, then records one compute pass: with
   * norm clipping, the sums of squares (one dispatch per group) and the norms (one dispatch);
   * then the update (one dispatch per group).
   */
  #encodePasses(
    encoder: GPUCommandEncoder,
    kernels: Kernels,
    participants: Map<UpdateGroup, number[]>,
  ): void {
    const clip = this.#clip!;
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
    const pass = encoder.beginComputePass({ label: `${this.name} update` });
    if (norms) {
      if (clip.ensure(partialBase, firstVariable)) {
        // Larger than any step before: every bind group that holds the old buffers is rebuilt.
        for (const { group } of this.#arenas.values()) group.rebind();
        for (const external of this.#externalGroups.values()) external.group.rebind();
        this.#clipNormsGroup = null;
      }
      clip.writeVariableTable(firsts, counts);
      this.#clipNormsGroup ??= this.#device!.createBindGroup({
        label: `${this.name} clip norms`,
        layout: kernels.clipNormsLayout,
        entries: [
          { binding: 0, resource: { buffer: this.#params! } },
          { binding: 1, resource: { buffer: clip.variableTable } },
          { binding: 2, resource: { buffer: clip.partials } },
          { binding: 3, resource: { buffer: clip.norms } },
        ],
      });
      pass.setPipeline(kernels.sumSquares!);
      for (const group of participants.keys()) group.encodeSumSquares(pass);
      pass.setPipeline(kernels.clipNorms!);
      pass.setBindGroup(0, this.#clipNormsGroup);
      pass.dispatchWorkgroups(1);
    }
    pass.setPipeline(kernels.update);
    for (const group of participants.keys()) group.encodeUpdate(pass);
    pass.end();
  }

  #assertAlive(): void {
    if (this.#destroyed) throw new TypeError(`Adagrad '${this.name}' was destroyed`);
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
      // One accumulator buffer per arena, mirroring its layout, filled once with the initial
      // value: regions of variables that get their slot later are untouched until then.
      const accumulators = createFilledBuffer(
        device,
        arena.bufferSize,
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
        { variables: { buffer: arena.buffer }, gradients: arena.gradBuffer, accumulators },
        arena.members.map((m) => ({
          varOffset: m.offset / 4,
          slotOffset: m.offset / 4,
          length: m.byteLength / 4,
        })),
      );
      state = { group, accumulators };
      this.#arenas.set(arena, state);
    }
    const region = new BufferRegion(state.accumulators, variable.offset, variable.byteLength);
    const slot = new Slot(SLOT, variable.name, arena.device, () => region);
    this.#slots.set(variable, slot);
    this.#slotOrder.push({ slot, key: variable });
  }

  /** Registers new external variables; returns each entry's member index in its group. */
  #ensureExternalSlots(entries: readonly ExternalEntry[], kernels: Kernels) {
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
          this.#device!,
          () => new BufferRegion(g.accumulators, g.slotOffsets[index] * 4, ref.byteLength),
        );
        this.#slotOrder.push({ slot, key: ref });
      });
    }
    return entries.map(({ ref }) =>
      this.#externalGroups.get(ref.buffer)!.indexOf(ref.offset, ref.byteLength)
    );
  }
}
