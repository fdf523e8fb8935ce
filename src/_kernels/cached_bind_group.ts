// Bind groups are made once and kept. The buffers they hold are replaced only by GrowingBuffer
// (growing_buffer.ts), which moves the owner's Generation on; every cached bind group checks it,
// so no stale group survives a reallocation.

/** Moves on whenever a buffer that one of its bind groups may hold is replaced. */
export class Generation {
  #value = 0;

  get value(): number {
    return this.#value;
  }

  /** Marks every bind group cached against this generation stale. */
  advance(): void {
    this.#value++;
  }
}

/** A bind group rebuilt only when `generation` moved on since it was made. */
export class CachedBindGroup {
  #group: GPUBindGroup | null = null;
  #generation = -1;

  get(generation: Generation, make: () => GPUBindGroup): GPUBindGroup {
    if (!this.#group || this.#generation !== generation.value) {
      this.#group = make();
      this.#generation = generation.value;
    }
    return this.#group;
  }
}

/** One cached bind group per key (for example per gradient source a pass reads). */
export class BindGroupCache<K extends object> {
  readonly #groups = new WeakMap<K, CachedBindGroup>();

  get(key: K, generation: Generation, make: () => GPUBindGroup): GPUBindGroup {
    let cached = this.#groups.get(key);
    if (!cached) this.#groups.set(key, cached = new CachedBindGroup());
    return cached.get(generation, make);
  }
}
