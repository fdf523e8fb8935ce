// The non-finite check (non_finite.wgsl `check_finite`): whether any gradient of this step holds a
// NaN or an infinity, found on the GPU into one small state buffer that `skipNonFinite`'s verdict
// (skip_non_finite.ts) or a dynamic loss scale's update (loss_scale_state.ts) then reads.
import { COPY_DST, COPY_SRC, STORAGE } from "../_common/usage.ts";
import { BindGroupCache, type Generation } from "../_kernels/cached_bind_group.ts";
import type { Kernels } from "../_kernels/kernels.ts";
import type { ReductionSource } from "../_kernels/reduction_source.ts";
import { NON_FINITE_STATE } from "../_kernels/shader_interface.ts";
import { dispatch } from "../_kernels/tiles.ts";

export class NonFiniteCheck {
  /** `NonFiniteState`: found (atomic, reset by whoever reads it), skipped. */
  readonly state: GPUBuffer;
  readonly #kernels: Kernels;
  readonly #generation: Generation;
  readonly #groups = new BindGroupCache<ReductionSource>();

  constructor(kernels: Kernels, generation: Generation) {
    this.#kernels = kernels;
    this.#generation = generation;
    this.state = kernels.device.createBuffer({
      label: "webgpu-adagrad non-finite state",
      size: NON_FINITE_STATE.bytes,
      usage: STORAGE | COPY_SRC | COPY_DST,
    });
  }

  /** Records the check of every source's gradients. */
  encode(pass: GPUComputePassEncoder, sources: readonly ReductionSource[]): void {
    const kernels = this.#kernels;
    for (const source of sources) {
      if (source.reduceCount === 0) continue;
      const group = this.#groups.get(
        source,
        this.#generation,
        () =>
          kernels.bindGroup("checkFinite", `${source.label} non-finite check`, [
            source.reduceTiles,
            source.reduceData,
            this.state,
          ]),
      );
      const pipeline = kernels.checkFinite(source.layout);
      dispatch(pass, pipeline, group, source.reduceCount, kernels.maxWorkgroupsPerDimension);
    }
  }

  destroy(): void {
    this.state.destroy();
  }
}
