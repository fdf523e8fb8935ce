// The non-finite guard's state (see shaders/guard.wgsl): whether this step found a NaN or an
// infinity, and the count of skipped steps, on the GPU; and a staging buffer through which the
// count comes back to the CPU in the background, every few steps, never blocking a step. Its
// verdict and learning-rate table are step buffers (_step_buffers.ts).
import { GUARD } from "../_kernels/shader_interface.ts";
import { CachedBindGroup } from "../_kernels/cached_bind_group.ts";
import type { StepBuffers } from "./step_buffers.ts";
import { COPY_DST, COPY_SRC, MAP_MODE_READ, MAP_READ, STORAGE } from "../_common/usage.ts";
import { readFloats } from "../device/_transfer.ts";
import { dispatch } from "../_kernels/tiles.ts";

/** Steps between background reads of the skipped count. */
const RECONCILE_EVERY = 4;
const SKIPPED_OFFSET = 4 * GUARD.at.skipped;

export class GuardState {
  readonly shared: StepBuffers;
  /** `Guard`: found (atomic), skipped. */
  readonly state: GPUBuffer;
  readonly #staging: GPUBuffer;
  readonly #finalize = new CachedBindGroup();
  #reading = false;
  #steps = 0;

  constructor(shared: StepBuffers) {
    this.shared = shared;
    const make = (label: string, size: number, usage: number) =>
      shared.device.createBuffer({ label: `webgpu-adagrad guard ${label}`, size, usage });
    this.state = make("state", GUARD.bytes, STORAGE | COPY_SRC | COPY_DST);
    this.#staging = make("readback", 4, MAP_READ | COPY_DST);
  }

  /** A bind group for `check_finite` over the tile table `tiles` of `data`. */
  checkGroup(tiles: GPUBuffer, data: GPUBuffer): GPUBindGroup {
    return this.shared.kernels.bindGroup("guardCheck", "webgpu-adagrad guard check", [
      tiles,
      data,
      this.state,
    ]);
  }

  /** Records `finalize` (after every `check_finite` dispatch of the step). */
  encodeFinalize(pass: GPUComputePassEncoder): void {
    const shared = this.shared;
    const { kernels, lrTable, verdict } = shared;
    const group = this.#finalize.get(
      shared,
      () =>
        kernels.bindGroup("guardFinalize", "webgpu-adagrad guard finalize", [
          this.state,
          lrTable!,
          verdict,
        ]),
    );
    dispatch(pass, kernels.guardFinalize, group, 1, 1);
  }

  /**
   * Every few steps, when no read is in flight, copies the skipped count to the staging buffer in
   * this step's command buffer; returns the promise of that count once submitted, or null.
   */
  maybeScheduleRead(encoder: GPUCommandEncoder): (() => Promise<number>) | null {
    if (this.#reading || ++this.#steps % RECONCILE_EVERY !== 0) return null;
    this.#reading = true;
    encoder.copyBufferToBuffer(this.state, SKIPPED_OFFSET, this.#staging, 0, 4);
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
    const bits = await readFloats(this.shared.device, this.state, SKIPPED_OFFSET, 4);
    return new Uint32Array(bits.buffer)[0];
  }

  destroy(): void {
    this.state.destroy();
    this.#staging.destroy();
  }
}
