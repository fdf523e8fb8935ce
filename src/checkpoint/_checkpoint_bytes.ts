import { CHUNK_BYTES } from "./_windows.ts";

/**
 * The Uint8Array that saveCheckpoint fills, allocated before anything is read from the GPU. Its
 * largest size is the runtime's (4 GiB on Node 20 and Bun, more on Deno), which says so with a
 * RangeError of its own; this one names the size and the way around it.
 */
export function allocateCheckpoint(bytes: number, caller: string): Uint8Array {
  try {
    return new Uint8Array(bytes);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new RangeError(
      `${caller}: the checkpoint takes ${bytes} bytes (${(bytes / 2 ** 30).toFixed(2)} GiB), ` +
        `more than this runtime can hold in one Uint8Array (${e.message}). ` +
        `saveCheckpointFile(path, targets) streams it to a file in ${CHUNK_BYTES / 2 ** 20} MiB ` +
        `chunks instead, and restoreCheckpointFile(path, targets) reads it back the same way.`,
      { cause: e },
    );
  }
}
