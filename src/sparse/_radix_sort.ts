// The radix sort of large sparse steps (shaders/radix_sort.wgsl): its second pairs buffer (passes
// alternate between the two), the per-block digit counts, and the table of passes read at a
// dynamic offset. Buffers grow only past every earlier step's size.
import { COPY_DST, STORAGE, UNIFORM } from "../_common/usage.ts";
import { CachedBindGroup, type Generation } from "../_kernels/cached_bind_group.ts";
import { GrowingBuffer } from "../_kernels/growing_buffer.ts";
import type { Kernels } from "../_kernels/kernels.ts";
import { RADIX_PASS } from "../_kernels/shader_interface.ts";
import { dispatch } from "../_kernels/tiles.ts";

/** Radix passes that sort keys below `keys`: the key bits in use, `bits` at a time. */
export function radixPasses(keys: number, bits: number): number {
  const used = 32 - Math.clz32(Math.max(keys - 1, 1));
  return Math.ceil(used / bits);
}

export class RadixSort {
  readonly #kernels: Kernels;
  readonly #generation: Generation;
  readonly #other: GrowingBuffer;
  readonly #histogram: GrowingBuffer;
  /** One `RadixPass` per pass, `#stride` apart: enough passes for any 32-bit key. */
  readonly #table: GPUBuffer;
  readonly #stride: number;
  #blocks = 0;
  #passes = 0;
  readonly #forward = new CachedBindGroup();
  readonly #backward = new CachedBindGroup();

  constructor(kernels: Kernels, generation: Generation) {
    const device = kernels.device;
    this.#kernels = kernels;
    this.#generation = generation;
    this.#stride = Math.max(RADIX_PASS.bytes, device.limits.minUniformBufferOffsetAlignment);
    const buffer = (label: string) =>
      new GrowingBuffer(device, generation, `webgpu-adagrad radix ${label}`, STORAGE);
    this.#other = buffer("pairs");
    this.#histogram = buffer("histogram");
    this.#table = device.createBuffer({
      label: "webgpu-adagrad radix passes",
      size: this.#stride * Math.ceil(32 / kernels.radixBits),
      usage: UNIFORM | COPY_DST,
    });
  }

  /** Sizes the buffers for `total` pairs with keys below `keys`, and writes the pass table. */
  prepare(total: number, keys: number): void {
    const kernels = this.#kernels;
    const blocks = Math.ceil(total / kernels.radixBlock);
    this.#passes = radixPasses(keys, kernels.radixBits);
    this.#other.ensure(8 * total);
    this.#histogram.ensure(4 * 2 ** kernels.radixBits * blocks);
    if (blocks === this.#blocks) return;
    const words = new Uint32Array(this.#table.size / 4);
    for (let p = 0; p < words.length / (this.#stride / 4); p++) {
      words[(p * this.#stride) / 4 + RADIX_PASS.at.shift] = p * kernels.radixBits;
      words[(p * this.#stride) / 4 + RADIX_PASS.at.blocks] = blocks;
    }
    kernels.device.queue.writeBuffer(this.#table, 0, words);
    this.#blocks = blocks;
  }

  /**
   * Where sparse_keys.wgsl writes the pairs, so that after an odd or even number of passes the
   * sorted pairs end in `pairs`.
   */
  keysTarget(pairs: GPUBuffer): GPUBuffer {
    return this.#passes % 2 === 1 ? this.#other.buffer : pairs;
  }

  /** Records the passes; the pairs start in `keysTarget(pairs)` and end in `pairs`. */
  encode(pass: GPUComputePassEncoder, pairs: GPUBuffer, entries: GPUBuffer): void {
    const kernels = this.#kernels;
    const other = this.#other.buffer;
    const group = (from: GPUBuffer, to: GPUBuffer) =>
      kernels.bindGroup("radix", "webgpu-adagrad radix sort", [
        { buffer: this.#table, size: RADIX_PASS.bytes },
        entries,
        from,
        this.#histogram.buffer,
        to,
      ]);
    const forward = this.#forward.get(this.#generation, () => group(pairs, other));
    const backward = this.#backward.get(this.#generation, () => group(other, pairs));
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
    this.#other.destroy();
    this.#histogram.destroy();
    this.#table.destroy();
  }
}
