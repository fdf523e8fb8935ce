// The non-finite guard's buffers (see shaders/guard.wgsl): the verdict and the skipped count on
// the GPU, the learning-rate table the step writes, and a staging buffer through which the skipped
// count comes back to the CPU in the background, every few steps, never blocking a step.
import { type GuardKernels, LR_WINDOW } from "./_kernels.ts";
import { COPY_DST, COPY_SRC, MAP_MODE_READ, MAP_READ, STORAGE } from "./_usage.ts";
import { readFloats } from "./_transfer.ts";

/** Steps between background reads of the skipped count. */
const RECONCILE_EVERY = 4;

export class GuardBuffers {
  readonly device: GPUDevice;
  readonly kernels: GuardKernels;
  /** found (atomic), skipped, padding. */
  readonly guard: GPUBuffer;
  readonly #lrTable: GPUBuffer;
  readonly #staging: GPUBuffer;
  readonly #words = new Uint32Array(4 + LR_WINDOW);
  readonly #lr = new Float32Array(this.#words.buffer, 16, LR_WINDOW);
  #finalizeGroup: GPUBindGroup | null = null;
  #finalizeNorms: GPUBuffer | null = null;
  #reading = false;
  #steps = 0;

  constructor(device: GPUDevice, kernels: GuardKernels) {
    this.device = device;
    this.kernels = kernels;
    const make = (label: string, size: number, usage: number) =>
      device.createBuffer({ label: `webgpu-adagrad guard ${label}`, size, usage });
    this.guard = make("state", 16, STORAGE | COPY_SRC | COPY_DST);
    this.#lrTable = make("learning rates", 4 * (4 + LR_WINDOW), STORAGE | COPY_DST);
    this.#staging = make("readback", 4, MAP_READ | COPY_DST);
  }

  /** This step's table: lr_t if the GPU skipped j more steps than `known`, for each j. */
  writeLearningRates(known: number, lrAt: (j: number) => number): void {
    const words = this.#words;
    words[0] = known;
    for (let j = 0; j < LR_WINDOW; j++) this.#lr[j] = lrAt(j);
    this.device.queue.writeBuffer(this.#lrTable, 0, words);
  }

  /** Records `finalize` (after every `check_finite` dispatch of the step). */
  encodeFinalize(pass: GPUComputePassEncoder, norms: GPUBuffer): void {
    if (this.#finalizeNorms !== norms) this.#finalizeGroup = null;
    this.#finalizeNorms = norms;
    this.#finalizeGroup ??= this.device.createBindGroup({
      label: "webgpu-adagrad guard finalize",
      layout: this.kernels.finalize.getBindGroupLayout(0),
      entries: [
        { binding: 2, resource: { buffer: this.guard } },
        { binding: 3, resource: { buffer: this.#lrTable } },
        { binding: 4, resource: { buffer: norms, offset: 0, size: 16 } },
      ],
    });
    pass.setPipeline(this.kernels.finalize);
    pass.setBindGroup(0, this.#finalizeGroup);
    pass.dispatchWorkgroups(1);
  }

  /** A bind group for `check_finite` over `tiles` of `data`. */
  checkGroup(tiles: GPUBuffer, data: GPUBuffer): GPUBindGroup {
    return this.device.createBindGroup({
      label: "webgpu-adagrad guard check",
      layout: this.kernels.check.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: tiles } },
        { binding: 1, resource: { buffer: data } },
        { binding: 2, resource: { buffer: this.guard } },
      ],
    });
  }

  /**
   * Every few steps, when no read is in flight, copies the skipped count to the staging buffer in
   * this step's command buffer; returns the promise of that count once submitted, or null.
   */
  maybeScheduleRead(encoder: GPUCommandEncoder): (() => Promise<number>) | null {
    if (this.#reading || ++this.#steps % RECONCILE_EVERY !== 0) return null;
    this.#reading = true;
    encoder.copyBufferToBuffer(this.guard, 4, this.#staging, 0, 4);
    return async () => {
      try {
        await this.#staging.mapAsync(MAP_MODE_READ);
        const count = new Uint32Array(this.#staging.getMappedRange().slice(0))[0];
        this.#staging.unmap();
        return count;
      } finally {
        this.#reading = false;
      }
    };
  }

  /** The skipped count now (a readback of its own). */
  async readSkipped(): Promise<number> {
    const bits = await readFloats(this.device, this.guard, 4, 4);
    return new Uint32Array(bits.buffer)[0];
  }

  destroy(): void {
    this.guard.destroy();
    this.#lrTable.destroy();
    this.#staging.destroy();
  }
}
