// A LossScaleOptimizer's state, as the inner optimizer's step uses it.
//
// The scale and Keras's counter live in one small GPU buffer (`LossScale` in non_finite.wgsl), made
// on the first step or when a user asks for the scale's binding. With a dynamic scale, the step's
// non-finite check and `update_loss_scale` change it on the GPU, so no step reads anything back.
// The inner optimizer is given the state (attachLossScale in optimizers/adagrad_base.ts): its kernels
// are specialised on the mode, and before each step it tells the state whether that step's
// gradients come from the scaled loss (the `scaled` of the step's options).
import type { Kernels } from "../_kernels/kernels.ts";
import { LOSS_SCALE } from "../_kernels/shader_interface.ts";
import { LossScaleMode } from "../_kernels/specialisation.ts";
import { dispatch } from "../_kernels/tiles.ts";
import type { StepUniforms } from "./uniforms.ts";
import { readFloats } from "../device/_transfer.ts";
import { COPY_DST, COPY_SRC, STORAGE, UNIFORM } from "../_common/usage.ts";

export class LossScaleState {
  readonly mode: typeof LossScaleMode.fixed | typeof LossScaleMode.dynamic;
  readonly growthSteps: number;
  /** The state's GPU buffer and its device, once made. */
  #gpu: { device: GPUDevice; buffer: GPUBuffer } | null = null;
  /** The state while no GPU buffer holds it (and the fixed scale, always). */
  #scale: number;
  #goodSteps = 0;
  readonly #words = new Uint32Array(LOSS_SCALE.words);
  readonly #floats = new Float32Array(this.#words.buffer);
  /** The `scaled` word last written to the GPU state (0 when it is made). */
  #scaledWritten = 0;
  #group: GPUBindGroup | null = null;

  constructor(
    mode: typeof LossScaleMode.fixed | typeof LossScaleMode.dynamic,
    initialScale: number,
    growthSteps: number,
  ) {
    this.mode = mode;
    this.#scale = Math.fround(initialScale);
    this.growthSteps = growthSteps;
  }

  get device(): GPUDevice | null {
    return this.#gpu?.device ?? null;
  }

  /** The GPU buffer of the state on `device`, made once. */
  bufferOn(device: GPUDevice): GPUBuffer {
    if (this.#gpu) {
      if (device !== this.#gpu.device) {
        throw new TypeError(
          "LossScaleOptimizer: its loss scale already lives on another GPUDevice than this step's",
        );
      }
      return this.#gpu.buffer;
    }
    const buffer = device.createBuffer({
      label: "webgpu-adagrad loss scale",
      size: LOSS_SCALE.bytes,
      // UNIFORM too, so that a user's shader may bind the scale either way.
      usage: STORAGE | UNIFORM | COPY_SRC | COPY_DST,
    });
    this.#gpu = { device, buffer };
    this.#write();
    return buffer;
  }

  /** The scale and the counter now (a readback once the GPU holds them). */
  async read(): Promise<{ scale: number; goodSteps: number }> {
    const gpu = this.#gpu;
    if (!gpu || this.mode === LossScaleMode.fixed) {
      return { scale: this.#scale, goodSteps: this.#goodSteps };
    }
    const floats = await readFloats(gpu.device, gpu.buffer, 0, 8);
    return {
      scale: floats[LOSS_SCALE.at.scale],
      goodSteps: new Uint32Array(floats.buffer)[LOSS_SCALE.at.good_steps],
    };
  }

  /** Sets the scale and the counter (queued ahead of any later step). */
  set(scale: number, goodSteps: number): void {
    this.#scale = Math.fround(scale);
    this.#goodSteps = goodSteps;
    this.#write();
  }

  /** Sends the state to its GPU buffer, if it has one. */
  #write(): void {
    if (!this.#gpu) return;
    const w = this.#words;
    this.#floats[LOSS_SCALE.at.scale] = this.#scale;
    w[LOSS_SCALE.at.good_steps] = this.#goodSteps;
    w[LOSS_SCALE.at.growth_steps] = this.growthSteps;
    w[LOSS_SCALE.at.scaled] = this.#scaledWritten;
    this.#gpu.device.queue.writeBuffer(this.#gpu.buffer, 0, w);
  }

  /**
   * Before a step is encoded: tells the kernels whether its gradients are to be unscaled. A
   * dynamic scale's kernel reads the flag from the state; a fixed scale's factor goes straight to
   * the verdict the updates read. Each is written only when it changes.
   */
  beginStep(device: GPUDevice, uniforms: StepUniforms, scaled: boolean): void {
    const buffer = this.bufferOn(device);
    const flag = scaled ? 1 : 0;
    if (this.mode === LossScaleMode.dynamic) {
      if (flag === this.#scaledWritten) return;
      this.#words[LOSS_SCALE.at.scaled] = this.#scaledWritten = flag;
      const at = 4 * LOSS_SCALE.at.scaled;
      device.queue.writeBuffer(buffer, at, this.#words, LOSS_SCALE.at.scaled, 1);
    } else {
      uniforms.writeUnscale(scaled ? Math.fround(1 / this.#scale) : 1);
    }
  }

  /**
   * Records a dynamic scale's update and the verdict, after the step's non-finite checks (whose
   * `state` it reads and resets).
   */
  encodeUpdate(
    pass: GPUComputePassEncoder,
    kernels: Kernels,
    state: GPUBuffer,
    verdict: GPUBuffer,
  ): void {
    if (this.mode !== LossScaleMode.dynamic) return;
    // None of the three buffers is ever replaced.
    this.#group ??= kernels.bindGroup("lossScale", "webgpu-adagrad loss scale update", [
      state,
      verdict,
      this.bufferOn(kernels.device),
    ]);
    dispatch(pass, kernels.lossScaleUpdate, this.#group, 1, 1);
  }

  destroy(): void {
    this.#gpu?.buffer.destroy();
    this.#gpu = null;
    this.#group = null;
  }
}
