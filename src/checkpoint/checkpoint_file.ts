import type { CheckpointTargets, RestoreOptions } from "./checkpoint_targets.ts";
import { describe } from "../_common/validate.ts";
import { type FileHandle, type FileSystem, fileSystem, readAt, writeAt } from "./_file_system.ts";
import { headerLength, parseHeader, type SafetensorsHeader } from "./_safetensors_header.ts";
import { planSave } from "./_save_plan.ts";
import { checkRestore, planRestore } from "./_restore_plan.ts";
import { streamRestore, streamSave } from "./_streaming.ts";
import { checkpointChunkBytes } from "./_windows.ts";
import { fileSink, fileSource } from "./_file_streams.ts";

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
  const fs = fileSystem("writeFileAtomic");
  checkPath(path, "writeFileAtomic");
  await writeAtomic(fs, path, (file) => writeAt(file, bytes, 0));
}

/**
 * Fills a temporary file beside `path` with `fill`, flushes it to disk, then renames it over
 * `path`; on any failure the temporary file is removed and `path` is untouched.
 */
async function writeAtomic(
  fs: FileSystem,
  path: string,
  fill: (file: FileHandle) => Promise<void>,
): Promise<void> {
  const { open, rename, rm } = fs;
  const temporary = `${path}.${Date.now()}-${Math.random().toString(36).slice(2)}.tmp`;
  try {
    const file = await open(temporary, "w");
    try {
      await fill(file);
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

function checkPath(path: unknown, caller: string): void {
  if (typeof path !== "string" || path === "") {
    throw new TypeError(`${caller}: path must be a non-empty string, got ${describe(path)}`);
  }
}

/**
 * {@linkcode saveCheckpoint}'s bytes, streamed into a file: the header first, then the tensors
 * read back from the GPU in windows of 16 MiB and written at their place, so that no more than a
 * window or two is held in memory, whatever the model's size (past 2 GiB, past the largest
 * `ArrayBuffer`). Written atomically, as {@linkcode writeFileAtomic} does: a crash while saving
 * leaves the previous checkpoint intact. Await it before the next step. Deno, Node and Bun.
 *
 * @example
 * ```ts ignore
 * await saveCheckpointFile("run.safetensors", { variables: store.variables, optimizer: opt });
 * ```
 *
 * @throws {TypeError} for variables listed twice, of a destroyed store, or not Variables
 * @throws {Error} when the optimizer took a step while the checkpoint was read (the old file
 *   stays); in a browser, which has no files (keep {@linkcode saveCheckpoint}'s bytes there); or on
 *   a runtime too old to have `process.getBuiltinModule` (before Node 20.16, Deno 2.1)
 */
export async function saveCheckpointFile(
  path: string,
  targets: CheckpointTargets,
  metadata: Record<string, string> = {},
): Promise<void> {
  const caller = "saveCheckpointFile";
  const fs = fileSystem(caller); // before the read-back, where there are no files
  checkPath(path, caller);
  const plan = await planSave(targets, metadata, caller);
  const chunk = Math.min(checkpointChunkBytes(), plan.dataLength);
  await writeAtomic(fs, path, async (file) => {
    await writeAt(file, plan.header, 0);
    await streamSave(plan, fileSink(file, plan.header.length, chunk), caller);
    plan.assertNoStep(); // before the rename: a mixed state never replaces the old file
  });
}

/**
 * {@linkcode restoreCheckpoint} from a file, streamed: the header is read and checked against the
 * file's size, and every check of `restoreCheckpoint` runs on it (names, shapes, dtypes, tensors
 * nobody claims, the optimizer's class and settings, the saved counters) before anything is
 * written; then the tensors go from the file to the GPU in windows of 16 MiB. Nothing changes
 * unless every check passes. Await it before the next step.
 *
 * @example
 * ```ts ignore
 * await restoreCheckpointFile("run.safetensors", { variables: store.variables, optimizer: opt });
 * ```
 *
 * @throws {TypeError} for a malformed or truncated file, or any name, shape, dtype or setting that
 *   does not fit
 * @throws {Error} when the optimizer took a step during the restore (the counters are not set:
 *   restore again); in a browser, which has no files (keep {@linkcode saveCheckpoint}'s bytes
 *   there); or on a runtime too old to have `process.getBuiltinModule` (before Node 20.16, Deno
 *   2.1)
 */
export async function restoreCheckpointFile(
  path: string,
  targets: CheckpointTargets,
  options: RestoreOptions = {},
): Promise<void> {
  const caller = "restoreCheckpointFile";
  const fs = fileSystem(caller);
  checkPath(path, caller);
  const settings = checkRestore(targets, options, caller);
  const file = await fs.open(path, "r");
  try {
    const { header, dataStart } = await readHeader(file);
    // The scalars (iteration count, loss scale) are checked before anything is written.
    const scalars = new Map<string, Uint8Array>();
    for (const t of header.tensors.values()) {
      if (t.shape.length > 0) continue;
      const bytes = new Uint8Array(t.end - t.begin);
      await readAt(file, bytes, dataStart + t.begin);
      scalars.set(t.name, bytes);
    }
    const plan = planRestore(
      header,
      (name) => scalars.get(name)!,
      targets,
      settings,
      caller,
      "(await savedOptimizerConfigFile(path))!",
    );
    await streamRestore(plan, fileSource(file, dataStart));
  } finally {
    await file.close();
  }
}

/**
 * The optimizer's config saved with a checkpoint file, read from its header alone (see
 * {@linkcode savedOptimizerConfig}), or null when it holds no optimizer. For files too large to
 * read into memory whole.
 *
 * @example
 * ```ts ignore
 * const opt = Adagrad.fromConfig((await savedOptimizerConfigFile("run.safetensors"))!);
 * await restoreCheckpointFile("run.safetensors", { variables: store.variables, optimizer: opt });
 * ```
 *
 * @throws {TypeError} for a file that is not safetensors
 * @throws {Error} in a browser, which has no files
 */
export async function savedOptimizerConfigFile(
  path: string,
): Promise<Record<string, unknown> | null> {
  const caller = "savedOptimizerConfigFile";
  const fs = fileSystem(caller);
  checkPath(path, caller);
  const file = await fs.open(path, "r");
  try {
    const config = (await readHeader(file)).header.metadata.optimizer_config;
    return config === undefined ? null : JSON.parse(config);
  } finally {
    await file.close();
  }
}

/** A file's safetensors header, checked against the file's length, and where its data starts. */
async function readHeader(
  file: FileHandle,
): Promise<{ header: SafetensorsHeader; dataStart: number }> {
  const { size } = await file.stat();
  const first8 = new Uint8Array(Math.min(8, size));
  await readAt(file, first8, 0);
  const length = headerLength(first8, size);
  const json = new Uint8Array(length);
  await readAt(file, json, 8);
  return { header: parseHeader(json, size - 8 - length), dataStart: 8 + length };
}
