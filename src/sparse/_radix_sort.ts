// The radix sort of large sparse steps (shaders/radix_sort.wgsl): its second pairs buffer (passes
// alternate between the two), the per-block digit counts, and the table of passes read at a
// dynamic offset. Buffers grow only past every earlier step's size.
import { CachedBindGroup } from "../_kernels/cached_bind_group.ts";
import { RADIX_PASS } from "../_kernels/shader_interface.ts";
import type { StepBuffers } from "../_step/step_buffers.ts";
import { dispatch } from "../_kernels/tiles.ts";
import { COPY_DST, STORAGE, UNIFORM } from "../_common/usage.ts";

/** Radix passes that sort keys below `keys`: the key bits in use, `bits` at a time. */
export function radixPasses(keys: number, bits: number): number {
  const used = 32 - Math.clz32(Math.max(keys - 1, 1));
  return Math.ceil(used / bits);
}

export class RadixSort {
  readonly shared: StepBuffers;
  #other: GPUBuffer | null = null;
  #histogram: GPUBuffer | null = null;
  #table: GPUBuffer | null = null;
  readonly #stride: number;
  #capacity = { other: 0, histogram: 0 };
  #blocks = 0;
  #passes = 0;
  readonly #forward = new CachedBindGroup();
  readonly #backward = new CachedBindGroup();

  constructor(shared: StepBuffers) {
    this.shared = shared;
    this.#stride = Math.max(RADIX_PASS.bytes, shared.device.limits.minUniformBufferOffsetAlignment);
  }

  /** Sizes the buffers for `total` pairs with keys below `keys`, and writes the pass table. */
  prepare(total: number, keys: number): void {
    const { device, kernels } = this.shared;
    const blocks = Math.ceil(total / kernels.radixBlock);
    this.#passes = radixPasses(keys, kernels.radixBits);
    const make = (label: string, size: number, usage: number) =>
      device.createBuffer({ label: `webgpu-adagrad radix ${label}`, size, usage });
    const c = this.#capacity;
    if (total > c.other) {
      this.#other?.destroy();
      c.other = Math.max(total, 2 * c.other);
      this.#other = make("pairs", 8 * c.other, STORAGE);
      this.shared.invalidate();
    }
    const digits = 2 ** kernels.radixBits;
    if (digits * blocks > c.histogram) {
      this.#histogram?.destroy();
      c.histogram = Math.max(digits * blocks, 2 * c.histogram);
      this.#histogram = make("histogram", 4 * c.histogram, STORAGE);
      this.shared.invalidate();
    }
    // Enough passes for any 32-bit key.
    const maxPasses = Math.ceil(32 / kernels.radixBits);
    this.#table ??= make("passes", this.#stride * maxPasses, UNIFORM | COPY_DST);
    if (blocks !== this.#blocks) {
      const words = new Uint32Array((this.#stride * maxPasses) / 4);
      for (let p = 0; p < maxPasses; p++) {
        words[(p * this.#stride) / 4 + RADIX_PASS.at.shift] = p * kernels.radixBits;
        words[(p * this.#stride) / 4 + RADIX_PASS.at.blocks] = blocks;
      }
      device.queue.writeBuffer(this.#table, 0, words);
      this.#blocks = blocks;
    }
  }

  /**
   * Where sparse_keys.wgsl writes the pairs, so that after an odd or even number of passes the
   * sorted pairs end in `pairs`.
   */
  keysTarget(pairs: GPUBuffer): GPUBuffer {
    return this.#passes % 2 === 1 ? this.#other! : pairs;
  }

  /** Records the passes; the pairs start in `keysTarget(pairs)` and end in `pairs`. */
  encode(pass: GPUComputePassEncoder, pairs: GPUBuffer, entries: GPUBuffer): void {
    const { kernels } = this.shared;
    const group = (from: GPUBuffer, to: GPUBuffer) =>
      kernels.bindGroup("radix", "webgpu-adagrad radix sort", [
        { buffer: this.#table!, size: RADIX_PASS.bytes },
        entries,
        from,
        this.#histogram!,
        to,
      ]);
    const forward = this.#forward.get(this.shared, () => group(pairs, this.#other!));
    const backward = this.#backward.get(this.shared, () => group(this.#other!, pairs));
    const start = this.keysTarget(pairs);
    const max = kernels.maxWorkgroupsPerDimension;
    for (let p = 0; p < this.#passes; p++) {
      const fromPairs = (p % 2 === 0) === (start === pairs);
      const bound = fromPairs ? forward : backward;
      const offsets = [p * this.#stride];
      dispatch(pass, kernels.radix("histogram"), bound, this.#blocks, max, offsets);
      dispatch(pass, kernels.radix("scan"), bound, 1, max, offsets);
      dispatch(pass, kernels.radix("scatter"), bound, this.#blocks, max, offsets);
    }
  }

  destroy(): void {
    this.#other?.destroy();
    this.#histogram?.destroy();
    this.#table?.destroy();
  }
}
