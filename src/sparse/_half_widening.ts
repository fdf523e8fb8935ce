// Float16 value rows in GPU buffers, widened to float32 in the sparse staging: each range is
// copied end to end into one buffer of halves, and shaders/widen_f16.wgsl converts them all in one
// dispatch at the start of the step's pass. CPU-side float16 values are widened on the CPU instead
// (exact either way). Buffers grow only past every earlier step's size.
import { alignUp } from "../_common/layout.ts";
import { COPY_DST, STORAGE } from "../_common/usage.ts";
import type { GpuRange } from "../_common/validate.ts";
import { CachedBindGroup, type Generation } from "../_kernels/cached_bind_group.ts";
import { GrowingBuffer, GrowingTable } from "../_kernels/growing_buffer.ts";
import type { Kernels } from "../_kernels/kernels.ts";
import { dispatch, tableWords, type TileSource, writeTiles } from "../_kernels/tiles.ts";

export class HalfWidening {
  readonly #kernels: Kernels;
  readonly #generation: Generation;
  readonly #halves: GrowingBuffer;
  readonly #tiles: GrowingTable;
  #jobs: TileSource[] = [];
  #tileCount = 0;
  readonly #group = new CachedBindGroup();

  constructor(kernels: Kernels, generation: Generation) {
    this.#kernels = kernels;
    this.#generation = generation;
    const label = (name: string) => `webgpu-adagrad float16 ${name}`;
    this.#halves = new GrowingBuffer(
      kernels.device,
      generation,
      label("halves"),
      STORAGE | COPY_DST,
    );
    this.#tiles = new GrowingTable(kernels.device, generation, label("tiles"), STORAGE | COPY_DST);
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
    this.#halves.ensure(2 * next);
    return starts;
  }

  /** Records the copy of `count` halves at `range` to half `at`, to be widened to value `to`. */
  stage(encoder: GPUCommandEncoder, range: GpuRange, at: number, count: number, to: number): void {
    const bytes = alignUp(2 * count, 4);
    encoder.copyBufferToBuffer(range.buffer, range.offset, this.#halves.buffer, 2 * at, bytes);
    this.#jobs.push({ varOffset: to, slotOffset: at, length: count, id: 0 });
  }

  /** Writes the step's tile table (after every `stage`). */
  finish(): void {
    const jobs = this.#jobs;
    this.#tileCount = 0;
    if (jobs.length === 0) return;
    const tile = this.#kernels.tileElements;
    const words = tableWords(jobs, tile);
    this.#tiles.ensure(words);
    this.#tileCount = writeTiles(jobs, tile, this.#tiles.words);
    this.#tiles.write(words);
  }

  /** Records the widening into `values`, if the step has float16 ranges. */
  encode(pass: GPUComputePassEncoder, values: GPUBuffer): void {
    if (this.#tileCount === 0) return;
    const kernels = this.#kernels;
    const group = this.#group.get(
      this.#generation,
      () =>
        kernels.bindGroup("widen", "webgpu-adagrad widen float16", [
          this.#tiles.buffer,
          this.#halves.buffer,
          values,
        ]),
    );
    dispatch(pass, kernels.widenF16, group, this.#tileCount, kernels.maxWorkgroupsPerDimension);
  }

  destroy(): void {
    this.#halves.destroy();
    this.#tiles.destroy();
  }
}
