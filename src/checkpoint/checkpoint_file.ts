import { type CheckpointTargets, restoreCheckpoint, saveCheckpoint } from "./checkpoint.ts";

/** The part of `node:fs/promises` used here (typed locally: the package has no Node types). */
interface FileSystem {
  open(path: string, flags: string): Promise<{
    writeFile(data: Uint8Array): Promise<void>;
    sync(): Promise<void>;
    close(): Promise<void>;
  }>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string, options: { force: boolean }): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
}

// node:fs is loaded on first use, so the package imports no runtime module until a file is
// written (Deno, Node and Bun all provide it; browsers do not have files). Not by a literal
// `import("node:fs/promises")`: bundlers' browser builds fail to resolve it, although a browser
// never calls this. `process.getBuiltinModule` (Deno 2, Node 20.16+, Bun) needs no import at all.
async function fs(): Promise<FileSystem> {
  const runtime = globalThis as { process?: { getBuiltinModule?(id: string): unknown } };
  const builtin = runtime.process?.getBuiltinModule?.("node:fs/promises");
  if (builtin) return builtin as FileSystem;
  const specifier = "node:fs/promises";
  return await import(specifier) as FileSystem;
}

/**
 * Writes `bytes` to `path` so that a crash at any moment leaves either the old file or the new one,
 * never a part: the bytes go to a temporary file beside it, are flushed to disk, then renamed over
 * `path` (atomic on POSIX file systems).
 *
 * @example
 * ```ts ignore
 * await writeFileAtomic("run.safetensors", bytes);
 * ```
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const { open, rename, rm } = await fs();
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
 */
export async function saveCheckpointFile(
  path: string,
  targets: CheckpointTargets,
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, await saveCheckpoint(targets, metadata));
}

/**
 * Reads a checkpoint file and {@linkcode restoreCheckpoint}s it: nothing changes unless every
 * name, shape and dtype fits.
 *
 * @example
 * ```ts ignore
 * await restoreCheckpointFile("run.safetensors", { variables: store.variables, optimizer: opt });
 * ```
 */
export async function restoreCheckpointFile(
  path: string,
  targets: CheckpointTargets,
): Promise<void> {
  const { readFile } = await fs();
  restoreCheckpoint(new Uint8Array(await readFile(path)), targets);
}
