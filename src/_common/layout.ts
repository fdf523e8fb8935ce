// Packing variables into arenas: pure arithmetic, no GPU, so it is tested on its own.

/** Rounds `n` up to a multiple of `alignment` (a positive integer). */
export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

/** Rounds `n` down to a multiple of `alignment` (a positive integer). */
export function alignDown(n: number, alignment: number): number {
  return Math.floor(n / alignment) * alignment;
}

/** Where one variable lands: which arena, and its byte offset inside it. */
export interface Placement {
  arena: number;
  offset: number;
}

/**
 * Places variables one after another into arenas of at most `maxArenaBytes` bytes, each at an
 * offset that is a multiple of `alignment` (the device's `minStorageBufferOffsetAlignment`, so a
 * shader can bind any one variable on its own). A variable that does not fit in the open arena
 * starts a new one; `seal()` closes the open arena so the next variable starts a new one too.
 */
export class ArenaPacker {
  readonly alignment: number;
  readonly maxArenaBytes: number;
  #arena = 0;
  #used = 0;

  constructor(alignment: number, maxArenaBytes: number) {
    if (!Number.isInteger(alignment) || alignment < 4 || alignment % 4 !== 0) {
      throw new RangeError(`alignment must be a positive multiple of 4, got ${alignment}`);
    }
    if (!Number.isInteger(maxArenaBytes) || maxArenaBytes < 4 || maxArenaBytes % 4 !== 0) {
      throw new RangeError(`maxArenaBytes must be a positive multiple of 4, got ${maxArenaBytes}`);
    }
    this.alignment = alignment;
    this.maxArenaBytes = maxArenaBytes;
  }

  /** Index of the arena the next variable would open or join. */
  get openArena(): number {
    return this.#arena;
  }

  /** True when `byteLength` bytes can be placed at all. */
  fits(byteLength: number): boolean {
    return byteLength <= this.maxArenaBytes;
  }

  /** Places `byteLength` bytes; the caller checks `fits` first. */
  place(byteLength: number): Placement {
    if (!this.fits(byteLength)) {
      throw new RangeError(`${byteLength} bytes exceed one arena (${this.maxArenaBytes} bytes)`);
    }
    let offset = alignUp(this.#used, this.alignment);
    if (this.#used > 0 && offset + byteLength > this.maxArenaBytes) {
      this.#arena++;
      offset = 0;
    }
    this.#used = offset + byteLength;
    return { arena: this.#arena, offset };
  }

  /** Closes the open arena if it holds anything. */
  seal(): void {
    if (this.#used > 0) {
      this.#arena++;
      this.#used = 0;
    }
  }
}
