// The one place where a step's buffers grow: a buffer is replaced only when a step needs more
// than any step before (doubling, so a run of growing steps reallocates O(log n) times), the old
// one is destroyed, and the owner's Generation moves on so every bind group holding it is rebuilt.
import type { Generation } from "./cached_bind_group.ts";

/** A GPU buffer that grows on demand; `buffer` is valid after the first `ensure`. */
export class GrowingBuffer {
  readonly #device: GPUDevice;
  readonly #generation: Generation;
  readonly #label: string;
  readonly #usage: number;
  readonly #limit: number;
  #buffer: GPUBuffer | null = null;
  #bytes = 0;

  /**
   * `limit`: the most bytes one binding may cover; doubling never goes past it, so a buffer that
   * fits one binding keeps fitting it (a larger need is the caller's to refuse).
   */
  constructor(
    device: GPUDevice,
    generation: Generation,
    label: string,
    usage: number,
    limit = device.limits.maxStorageBufferBindingSize,
  ) {
    this.#device = device;
    this.#generation = generation;
    this.#label = label;
    this.#usage = usage;
    this.#limit = limit;
  }

  get buffer(): GPUBuffer {
    if (!this.#buffer) throw new Error(`webgpu-adagrad: ${this.#label} used before it was sized`);
    return this.#buffer;
  }

  /** Bytes the buffer holds now (0 before the first `ensure`). */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Makes the buffer hold at least `bytes` (`exact`: exactly that many when it grows); returns
   * whether it was replaced.
   */
  ensure(bytes: number, exact = false): boolean {
    const need = Math.max(4, Math.ceil(bytes / 4) * 4);
    if (this.#buffer && need <= this.#bytes) return false;
    const size = exact ? need : Math.max(need, Math.min(2 * this.#bytes, this.#limit));
    this.#buffer?.destroy();
    this.#buffer = this.#device.createBuffer({
      label: this.#label,
      size,
      usage: this.#usage,
    });
    this.#bytes = size;
    this.#generation.advance();
    return true;
  }

  destroy(): void {
    this.#buffer?.destroy();
    this.#buffer = null;
    this.#bytes = 0;
  }
}

/**
 * A table of u32 words the CPU writes for the kernels (tile tables, entry tables), with its CPU
 * copy: the copy grows with the buffer, and `write` sends its first words.
 */
export class GrowingTable {
  readonly #gpu: GrowingBuffer;
  readonly #queue: GPUQueue;
  #words = new Uint32Array(0);

  constructor(device: GPUDevice, generation: Generation, label: string, usage: number) {
    this.#gpu = new GrowingBuffer(device, generation, label, usage);
    this.#queue = device.queue;
  }

  get buffer(): GPUBuffer {
    return this.#gpu.buffer;
  }

  /** The CPU copy, at least as long as the last `ensure` asked. */
  get words(): Uint32Array {
    return this.#words;
  }

  /** Makes room for `words` words; returns whether the buffer was replaced. */
  ensure(words: number): boolean {
    if (!this.#gpu.ensure(4 * words)) return false;
    this.#words = new Uint32Array(this.#gpu.bytes / 4);
    return true;
  }

  /** Sends the first `count` words of the CPU copy to the GPU. */
  write(count: number): void {
    this.#queue.writeBuffer(this.#gpu.buffer, 0, this.#words, 0, count);
  }

  destroy(): void {
    this.#gpu.destroy();
  }
}
