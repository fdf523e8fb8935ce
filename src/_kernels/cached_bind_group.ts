// Bind groups are made once and kept; the step's shared buffers carry one generation counter
// (StepBuffers.generation) that moves on whenever any bound buffer is replaced, and every cached
// bind group checks it, so no stale group survives a reallocation.

/** What a cached bind group checks: the owner of the step's buffers. */
export interface Generation {
  readonly generation: number;
}

/** A bind group rebuilt only when `owner` moved to a new generation. */
export class CachedBindGroup {
  #group: GPUBindGroup | null = null;
  #generation = -1;

  get(owner: Generation, make: () => GPUBindGroup): GPUBindGroup {
    if (!this.#group || this.#generation !== owner.generation) {
      this.#group = make();
      this.#generation = owner.generation;
    }
    return this.#group;
  }
}
