// How a checkpoint's data section is cut into bounded chunks ("windows"). A window is one GPU
// readback (or one file read) and one file write, whatever the tensors: small tensors share a
// window, a large one spans several, and a window's edges fall wherever they fall, mid-tensor
// included. So the memory a save or a restore holds is one window, and the number of mapAsync
// calls is the data's size over the chunk size, not the number of tensors.

/** The chunk size: the most bytes of tensor data a streamed save or restore holds at once. */
export const CHUNK_BYTES = 16 * 1024 * 1024;

let chunkBytes = CHUNK_BYTES;

/** The chunk size in use: {@linkcode CHUNK_BYTES}, unless a test has set another. */
export function checkpointChunkBytes(): number {
  return chunkBytes;
}

/**
 * Sets the chunk size (a positive multiple of 4: windows then start on float32 boundaries), so
 * that tests can make small tensors span several chunks. Returns the previous size.
 */
export function setCheckpointChunkBytes(bytes: number): number {
  if (!Number.isSafeInteger(bytes) || bytes <= 0 || bytes % 4 !== 0) {
    throw new RangeError(`the chunk size must be a positive multiple of 4, got ${bytes}`);
  }
  const previous = chunkBytes;
  chunkBytes = bytes;
  return previous;
}

/** Part of one tensor inside a window. */
export interface Piece {
  /** The tensor's index in the ranges given to {@linkcode windows}. */
  tensor: number;
  /** The piece's first byte within the tensor. */
  firstByte: number;
  byteLength: number;
  /** The piece's first byte within the window. */
  at: number;
}

/** Bytes `[start, start + length)` of the data section, and the pieces of tensors in them. */
export interface Window {
  start: number;
  length: number;
  pieces: Piece[];
}

/**
 * Cuts the bytes from the first range's start to the last range's end into windows of at most
 * `chunk` bytes, each listing the pieces of the ranges inside it. `ranges` are sorted and do not
 * overlap; bytes between them belong to no piece. Windows with no piece are left out.
 */
export function* windows(
  ranges: readonly { begin: number; end: number }[],
  chunk: number,
): Generator<Window> {
  if (ranges.length === 0) return;
  const last = ranges[ranges.length - 1].end;
  let first = 0; // the first range that may still reach into a window
  for (let start = ranges[0].begin; start < last; start += chunk) {
    const end = Math.min(start + chunk, last);
    while (first < ranges.length && ranges[first].end <= start) first++;
    const pieces: Piece[] = [];
    for (let i = first; i < ranges.length && ranges[i].begin < end; i++) {
      const from = Math.max(start, ranges[i].begin);
      const to = Math.min(end, ranges[i].end);
      if (to > from) {
        pieces.push({
          tensor: i,
          firstByte: from - ranges[i].begin,
          byteLength: to - from,
          at: from - start,
        });
      }
    }
    if (pieces.length > 0) yield { start, length: end - start, pieces };
  }
}
