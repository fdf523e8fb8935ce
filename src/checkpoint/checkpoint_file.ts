import {
  type CheckpointTargets,
  restoreCheckpoint,
  type RestoreOptions,
  saveCheckpoint,
} from "./checkpoint.ts";
import { type FileSystem, fileSystem } from "./_file_system.ts";

/**
 * Writes `bytes` to `path` so that a crash at any moment leaves either the old file or the new one,
 * never a part: the bytes go to a temporary file beside it, are flushed to disk, then renamed over
 * `path` (atomic on POSIX file systems).
 *
 * @example
 * ```ts ignore
 * await writeFileAtomic("run.safetensors", bytes);
 * ```
 *
 * @throws {Error} in a browser, which has no files (keep {@linkcode saveCheckpoint}'s bytes
 *   there), or on a runtime too old to have `process.getBuiltinModule` (before Node 20.16, Deno
 *   2.1)
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  await writeAtomic(fileSystem("writeFileAtomic"), path, bytes);
}

async function writeAtomic(fs: FileSystem, path: string, bytes: Uint8Array): Promise<void> {
  const { open, rename, rm } = fs;
  const temporary = `${path}.${Date.now()}-${Math.random().toString(36).slice(2)}.tmp`;
  try {
    const file = await open(temporary, "w");
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (e) {
    await rm(temporary, { force: true });
    throw e;
  }
}

/**
 * {@linkcode saveCheckpoint} into a file, written atomically ({@linkcode writeFileAtomic}): a
 * crash while saving leaves the previous checkpoint intact. Deno, Node and Bun.
 *
 * @example
 * ```ts ignore
 * await saveCheckpointFile("run.safetensors", { variables: store.variables, optimizer: opt });
 * ```
 *
 * @throws {Error} in a browser, which has no files (keep {@linkcode saveCheckpoint}'s bytes
 *   there), or on a runtime too old to have `process.getBuiltinModule` (before Node 20.16, Deno
 *   2.1)
 */
export async function saveCheckpointFile(
  path: string,
  targets: CheckpointTargets,
  metadata: Record<string, string> = {},
): Promise<void> {
  const fs = fileSystem("saveCheckpointFile"); // before the read-back, where there are no files
  await writeAtomic(fs, path, await saveCheckpoint(targets, metadata));
}

/**
 * Reads a checkpoint file and {@linkcode restoreCheckpoint}s it: nothing changes unless every
 * name, shape and dtype fits.
 *
 * @example
 * ```ts ignore
 * await restoreCheckpointFile("run.safetensors", { variables: store.variables, optimizer: opt });
 * ```
 *
 * @throws {Error} in a browser, which has no files (keep {@linkcode saveCheckpoint}'s bytes
 *   there), or on a runtime too old to have `process.getBuiltinModule` (before Node 20.16, Deno
 *   2.1)
 */
export async function restoreCheckpointFile(
  path: string,
  targets: CheckpointTargets,
  options: RestoreOptions = {},
): Promise<void> {
  const { readFile } = fileSystem("restoreCheckpointFile");
  restoreCheckpoint(new Uint8Array(await readFile(path)), targets, options);
}
