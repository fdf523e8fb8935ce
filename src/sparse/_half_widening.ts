// Float16 value rows in GPU buffers, widened to float32 in the sparse staging: each range is
// copied end to end into one buffer of halves, and shaders/widen_f16.wgsl converts them all in one
// dispatch at the start of the step's pass. CPU-side float16 values are widened on the CPU instead
// (exact either way). Buffers grow only past every earlier step's size.
import { CachedBindGroup } from "../_kernels/cached_bind_group.ts";
import { TILE_ELEMENTS } from "../_kernels/kernels.ts";
import { alignUp } from "../_common/layout.ts";
import type { StepBuffers } from "../_step/step_buffers.ts";
import { dispatch, tableWords, type TileSource, writeTiles } from "../_kernels/tiles.ts";
import { COPY_DST, STORAGE } from "../_common/usage.ts";
import type { GpuRange } from "../_common/validate.ts";

export class HalfWidening {
  readonly shared: StepBuffers;
  #halves: GPUBuffer | null = null;
  #tiles: GPUBuffer | null = null;
  #halfBytes = 0;
  #tileWords = new Uint32Array(0);
  #jobs: TileSource[] = [];
  #tileCount = 0;
  readonly #group = new CachedBindGroup();

  constructor(shared: StepBuffers) {
    this.shared = shared;
  }

  /** Lays out a step's ranges of `counts` halves end to end; returns each one's first half. */
  plan(counts: readonly number[]): number[] {
    this.#jobs = [];
    let next = 0;
    const starts = counts.map((n) => {
      const at = next;
      next += alignUp(n, 2); // whole words: copies move multiples of 4 bytes
      return at;
    });
    const bytes = 2 * next;
    if (bytes > this.#halfBytes) {
      this.#halves?.destroy();
      this.#halfBytes = Math.max(bytes, 2 * this.#halfBytes);
      this.#halves = this.#buffer("halves", this.#halfBytes);
      this.shared.invalidate();
    }
    return starts;
  }

  /** Records the copy of `count` halves at `range` to half `at`, to be widened to value `to`. */
  stage(encoder: GPUCommandEncoder, range: GpuRange, at: number, count: number, to: number): void {
    const bytes = alignUp(2 * count, 4);
    encoder.copyBufferToBuffer(range.buffer, range.offset, this.#halves!, 2 * at, bytes);
    this.#jobs.push({ varOffset: to, slotOffset: at, length: count, id: 0 });
  }

  /** Writes the step's tile table (after every `stage`). */
  finish(): void {
    const jobs = this.#jobs;
    if (jobs.length === 0) {
      this.#tileCount = 0;
      return;
    }
    const words = tableWords(jobs, TILE_ELEMENTS);
    if (this.#tileWords.length < words) {
      this.#tiles?.destroy();
      this.#tileWords = new Uint32Array(Math.max(words, 2 * this.#tileWords.length));
      this.#tiles = this.#buffer("tiles", 4 * this.#tileWords.length);
      this.shared.invalidate();
    }
    this.#tileCount = writeTiles(jobs, TILE_ELEMENTS, this.#tileWords);
    this.shared.device.queue.writeBuffer(this.#tiles!, 0, this.#tileWords, 0, words);
  }

  /** Records the widening into `values`, if the step has float16 ranges. */
  encode(pass: GPUComputePassEncoder, values: GPUBuffer): void {
    if (this.#tileCount === 0) return;
    const { kernels } = this.shared;
    const group = this.#group.get(
      this.shared,
      () =>
        kernels.bindGroup("widen", "webgpu-adagrad widen float16", [
          this.#tiles!,
          this.#halves!,
          values,
        ]),
    );
    dispatch(pass, kernels.widenF16, group, this.#tileCount, kernels.maxWorkgroupsPerDimension);
  }

  destroy(): void {
    this.#halves?.destroy();
    this.#tiles?.destroy();
  }

  #buffer(label: string, size: number): GPUBuffer {
    return this.shared.device.createBuffer({
      label: `webgpu-adagrad float16 ${label}`,
      size,
      usage: STORAGE | COPY_DST,
    });
  }
}
