// `skipNonFinite`: after the non-finite check, `finalize` (non_finite.wgsl) counts a skipped step
// and publishes the verdict and the step's learning rate. The CPU learns of skipped steps through
// a staging buffer, every few steps, in the background, never blocking a step; meanwhile it writes
// lr_t for each number of skips it may not have seen yet (the learning-rate table).
import { COPY_DST, MAP_MODE_READ, MAP_READ, STORAGE } from "../_common/usage.ts";
import { readFloats } from "../device/_transfer.ts";
import { type Kernels, LR_WINDOW } from "../_kernels/kernels.ts";
import { LR_TABLE, NON_FINITE_STATE } from "../_kernels/shader_interface.ts";
import { dispatch } from "../_kernels/tiles.ts";

/** Steps between background reads of the skipped count. */
const RECONCILE_EVERY = 4;
const SKIPPED_OFFSET = 4 * NON_FINITE_STATE.at.skipped;

export class SkipNonFinite {
  readonly #kernels: Kernels;
  /** The check's state, whose `skipped` this stage counts. */
  readonly #state: GPUBuffer;
  readonly #lrTable: GPUBuffer;
  readonly #staging: GPUBuffer;
  readonly #group: GPUBindGroup;
  readonly #lrWords = new Uint32Array(LR_TABLE.words + LR_WINDOW);
  readonly #lr = new Float32Array(this.#lrWords.buffer, LR_TABLE.bytes, LR_WINDOW);
  #reading = false;
  #steps = 0;

  /** Over the check's `state`, publishing into `verdict`. */
  constructor(kernels: Kernels, state: GPUBuffer, verdict: GPUBuffer) {
    this.#kernels = kernels;
    this.#state = state;
    const make = (label: string, size: number, usage: number) =>
      kernels.device.createBuffer({ label: `webgpu-adagrad ${label}`, size, usage });
    this.#lrTable = make("learning rates", this.#lrWords.byteLength, STORAGE | COPY_DST);
    this.#staging = make("skipped steps readback", 4, MAP_READ | COPY_DST);
    // None of these buffers is ever replaced.
    this.#group = kernels.bindGroup("finalize", "webgpu-adagrad finalize", [
      state,
      this.#lrTable,
      verdict,
    ]);
  }

  /** The table: lr_t if the GPU skipped j more steps than `known`, for each j. */
  writeLearningRates(known: number, lrAt: (j: number) => number): void {
    const words = this.#lrWords;
    words[LR_TABLE.at.known] = known;
    for (let j = 0; j < LR_WINDOW; j++) this.#lr[j] = lrAt(j);
    this.#kernels.device.queue.writeBuffer(this.#lrTable, 0, words);
  }

  /** Records `finalize` (after every check of the step). */
  encode(pass: GPUComputePassEncoder): void {
    dispatch(pass, this.#kernels.finalize, this.#group, 1, 1);
  }

  /**
   * Every few steps, when no read is in flight, copies the skipped count to the staging buffer in
   * this step's command buffer; returns the reader of that count, to call once submitted, or null.
   */
  maybeScheduleRead(encoder: GPUCommandEncoder): (() => Promise<number>) | null {
    if (this.#reading || ++this.#steps % RECONCILE_EVERY !== 0) return null;
    this.#reading = true;
    encoder.copyBufferToBuffer(this.#state, SKIPPED_OFFSET, this.#staging, 0, 4);
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
    const bits = await readFloats(this.#kernels.device, this.#state, SKIPPED_OFFSET, 4);
    return new Uint32Array(bits.buffer)[0];
  }

  destroy(): void {
    this.#lrTable.destroy();
    this.#staging.destroy();
  }
}
