// A LossScaleOptimizer's state, and how it reaches the inner optimizer's step.
//
// The scale and Keras's counter live in one small GPU buffer (`LossScale` in guard.wgsl), made on
// the first step or when a user asks for the scale's binding. With a dynamic scale, the step's
// finiteness check (the guard's `check_finite`) and `update_loss_scale` change it on the GPU, so
// no step reads anything back. The inner optimizer finds the state through `lossScaleOf(inner)`:
// its kernels are specialised on the mode, and before each step it tells the state whether that
// step's gradients come from the scaled loss (the `scaled` of the step's options).
import { CachedBindGroup } from "../_kernels/cached_bind_group.ts";
import type { LossScaleMode } from "../_kernels/kernels.ts";
import { LOSS_SCALE, VERDICT } from "../_kernels/shader_interface.ts";
import type { StepBuffers } from "./step_buffers.ts";
import { dispatch } from "../_kernels/tiles.ts";
import { readFloats } from "../device/_transfer.ts";
import { COPY_DST, COPY_SRC, STORAGE, UNIFORM } from "../_common/usage.ts";

export class LossScaleState {
  /** 1: a fixed scale, 2: a dynamic one. */
  readonly mode: Exclude<LossScaleMode, 0>;
  readonly growthSteps: number;
  #device: GPUDevice | null = null;
  #buffer: GPUBuffer | null = null;
  /** The state while no GPU buffer holds it (and the fixed scale, always). */
  #scale: number;
  #goodSteps = 0;
  readonly #words = new Uint32Array(LOSS_SCALE.words);
  readonly #floats = new Float32Array(this.#words.buffer);
  /** The `scaled` word last written to the GPU state (0 when it is made). */
  #scaledWritten = 0;
  readonly #group = new CachedBindGroup();

  constructor(mode: 1 | 2, initialScale: number, growthSteps: number) {
    this.mode = mode;
    this.#scale = Math.fround(initialScale);
    this.growthSteps = growthSteps;
  }

  get device(): GPUDevice | null {
    return this.#device;
  }

  /** The GPU buffer of the state on `device`, made once. */
  bufferOn(device: GPUDevice): GPUBuffer {
    if (this.#buffer) {
      if (device !== this.#device) {
        throw new TypeError(
          "LossScaleOptimizer: its loss scale already lives on another GPUDevice than this step's",
        );
      }
      return this.#buffer;
    }
    this.#device = device;
    this.#buffer = device.createBuffer({
      label: "webgpu-adagrad loss scale",
      size: LOSS_SCALE.bytes,
      // UNIFORM too, so that a user's shader may bind the scale either way.
      usage: STORAGE | UNIFORM | COPY_SRC | COPY_DST,
    });
    this.#write();
    return this.#buffer;
  }

  /** The scale and the counter now (a readback once the GPU holds them). */
  async read(): Promise<{ scale: number; goodSteps: number }> {
    if (!this.#buffer || this.mode === 1) return { scale: this.#scale, goodSteps: this.#goodSteps };
    const floats = await readFloats(this.#device!, this.#buffer, 0, 8);
    return {
      scale: floats[LOSS_SCALE.at.scale],
      goodSteps: new Uint32Array(floats.buffer)[LOSS_SCALE.at.good_steps],
    };
  }

  /** Sets the scale and the counter (queued ahead of any later step). */
  set(scale: number, goodSteps: number): void {
    this.#scale = Math.fround(scale);
    this.#goodSteps = goodSteps;
    if (this.#buffer) this.#write();
  }

  #write(): void {
    const w = this.#words;
    this.#floats[LOSS_SCALE.at.scale] = this.#scale;
    w[LOSS_SCALE.at.good_steps] = this.#goodSteps;
    w[LOSS_SCALE.at.growth_steps] = this.growthSteps;
    w[LOSS_SCALE.at.scaled] = this.#scaledWritten;
    this.#device!.queue.writeBuffer(this.#buffer!, 0, w);
  }

  /**
   * Before a step is encoded: tells the kernels whether its gradients are to be unscaled. A
   * dynamic scale's kernel reads the flag from the state; a fixed scale's factor goes straight to
   * the verdict the updates read. Each is written only when it changes.
   */
  beginStep(shared: StepBuffers, scaled: boolean): void {
    this.bufferOn(shared.device);
    const flag = scaled ? 1 : 0;
    if (this.mode === 2) {
      if (flag === this.#scaledWritten) return;
      this.#words[LOSS_SCALE.at.scaled] = this.#scaledWritten = flag;
      const at = 4 * LOSS_SCALE.at.scaled;
      shared.device.queue.writeBuffer(this.#buffer!, at, this.#words, LOSS_SCALE.at.scaled, 1);
    } else {
      shared.writeUnscale(scaled ? Math.fround(1 / this.#scale) : 1);
    }
  }

  /** Records the dynamic update and the verdict, after the step's finiteness checks. */
  encodeUpdate(pass: GPUComputePassEncoder, shared: StepBuffers): void {
    if (this.mode !== 2) return;
    const group = this.#group.get(
      shared,
      () =>
        shared.kernels.bindGroup("lossScale", "webgpu-adagrad loss scale update", [
          shared.guard!.state,
          shared.verdict,
          this.#buffer!,
        ]),
    );
    dispatch(pass, shared.kernels.lossScaleUpdate, group, 1, 1);
  }

  destroy(): void {
    this.#buffer?.destroy();
    this.#buffer = null;
    this.#device = null;
  }
}

/** The unscaling factor's place in the verdict, for a fixed scale's CPU writes. */
export const UNSCALE_OFFSET = 4 * VERDICT.at.unscale;

const states = new WeakMap<object, LossScaleState>();
const stepped = new WeakSet<object>();

/** Puts `inner`'s steps under `state`; only before its kernels are made. */
export function attachLossScale(inner: object, state: LossScaleState, name: string): void {
  if (states.has(inner)) {
    throw new TypeError(`LossScaleOptimizer: optimizer '${name}' is already wrapped by one`);
  }
  if (stepped.has(inner)) {
    throw new TypeError(
      `LossScaleOptimizer: optimizer '${name}' has already made its GPU state (a step or ` +
        `addSlot); wrap it before, and restore its weights afterwards if needed`,
    );
  }
  states.set(inner, state);
}

/**
 * Throws, changing nothing, when a loss scale over `inner` already lives on another device than
 * `device` (made there by `scaleBinding`).
 */
export function checkLossScaleDevice(inner: object, device: GPUDevice | undefined): void {
  const state = states.get(inner);
  if (device && state?.device && state.device !== device) {
    throw new TypeError(
      "LossScaleOptimizer: its loss scale lives on another GPUDevice (scaleBinding) than the " +
        "variables of this step",
    );
  }
}

/** The loss scale over `inner`'s steps, if any; marks `inner` as having made its GPU state. */
export function lossScaleOf(inner: object): LossScaleState | undefined {
  stepped.add(inner);
  return states.get(inner);
}
