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

  /** Places `byteLength` bytes in an arena of their own (a piece of a split variable). */
  placeAlone(byteLength: number): Placement {
    this.seal();
    const placement = this.place(byteLength);
    this.seal();
    return placement;
  }

  /** Closes the open arena if it holds anything. */
  seal(): void {
    if (this.#used > 0) {
      this.#arena++;
      this.#used = 0;
    }
  }
}

/** Elements `[first, first + length)` of a variable, one piece of it; `rows` of a table. */
export interface Piece {
  first: number;
  length: number;
  rows: number;
}

/**
 * How a variable of `shape` larger than `maxBytes` is cut into pieces of at most `maxBytes`, one
 * arena each: whole rows (the first dimension is the row, as the sparse and row-wise updates
 * address it; a vector's row is one element). Each piece starts its own arena at offset 0, so
 * every piece keeps the vec4 kernels. Where the arena allows it, pieces are also a multiple of
 * `alignElements` (the reduction tile): then each piece's reduction tiles are the ones the
 * variable would have in one buffer, and norm clipping adds the same partial sums in the same
 * order, to the bit. A variable that fits is one piece. Throws a RangeError when one row alone
 * is larger than `maxBytes`.
 */
export function splitPieces(
  shape: readonly number[],
  maxBytes: number,
  alignElements = 1,
): Piece[] {
  const length = shape.reduce((a, b) => a * b, 1);
  const rows = shape.length === 0 ? 1 : shape[0];
  if (4 * length <= maxBytes) return [{ first: 0, length, rows }];
  const width = length / rows;
  const fit = Math.floor(maxBytes / (4 * width));
  const unit = alignElements / gcd(width, alignElements); // rows in a multiple of alignElements
  const perPiece = fit >= unit ? fit - (fit % unit) : fit;
  if (perPiece === 0) {
    throw new RangeError(
      `a row of ${width} float32s (${4 * width} bytes) is larger than one arena (${maxBytes} ` +
        `bytes); request larger limits on the device`,
    );
  }
  const pieces: Piece[] = [];
  for (let row = 0; row < rows; row += perPiece) {
    const count = Math.min(perPiece, rows - row);
    pieces.push({ first: row * width, length: count * width, rows: count });
  }
  return pieces;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}
