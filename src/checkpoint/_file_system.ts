// Reaching `node:fs/promises` with no import in the package's module graph. A static import would
// make every program load it (and bundlers' browser builds fail to resolve it); a dynamic
// `import()` of a computed specifier makes `deno publish` warn that it cannot analyze it, a warning
// JSR shows on the package's page. `process.getBuiltinModule` needs no import at all: Node 20.16+
// (the npm package asks for 20.19), Deno 2.1+ and Bun have it. Browsers have no files.

/** The part of a `node:fs/promises` FileHandle used here. Positions are numbers: exact to 2**53. */
export interface FileHandle {
  write(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<{ bytesWritten: number }>;
  read(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<{ bytesRead: number }>;
  stat(): Promise<{ size: number }>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** The part of `node:fs/promises` used here (typed locally: the package has no Node types). */
export interface FileSystem {
  open(path: string, flags: string): Promise<FileHandle>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string, options: { force: boolean }): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
}

/** The most bytes one read or write asks for: Node and Deno refuse 2 GiB or more in one call. */
export const IO_MAX_BYTES = 2 ** 30;

/** Writes all of `bytes` at byte `position` of `file` (a write may take fewer bytes: it goes on). */
export async function writeAt(
  file: FileHandle,
  bytes: Uint8Array,
  position: number,
): Promise<void> {
  for (let done = 0; done < bytes.length;) {
    const length = Math.min(bytes.length - done, IO_MAX_BYTES);
    const { bytesWritten } = await file.write(bytes, done, length, position + done);
    if (!(bytesWritten > 0)) throw new Error(`a write at byte ${position + done} wrote nothing`);
    done += bytesWritten;
  }
}

/**
 * Fills `into` from byte `position` of `file`; an Error if the file ends first (it was checked
 * long enough, so it shrank since).
 */
export async function readAt(file: FileHandle, into: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < into.length;) {
    const length = Math.min(into.length - done, IO_MAX_BYTES);
    const { bytesRead } = await file.read(into, done, length, position + done);
    if (!(bytesRead > 0)) {
      throw new Error(
        `the file ends at byte ${position + done}, before the ${into.length} bytes asked from ` +
          `byte ${position}: it is shorter than its size said when it was opened (it shrank ` +
          `while being read)`,
      );
    }
    done += bytesRead;
  }
}

/** What the lookup reads of the global object; a parameter, so that tests can fake a runtime. */
export interface FileSystemGlobals {
  process?: { getBuiltinModule?(id: string): unknown };
}

/**
 * `node:fs/promises` of this runtime, or an Error that says why there is none: a browser (no
 * `process`) has no files; a runtime with `process` but no `getBuiltinModule` is too old.
 *
 * @param caller the public function that needs files, named in the error
 */
export function fileSystem(
  caller: string,
  globals: FileSystemGlobals = globalThis as FileSystemGlobals,
): FileSystem {
  const runtime = globals.process;
  if (typeof runtime?.getBuiltinModule === "function") {
    const fs = runtime.getBuiltinModule("node:fs/promises");
    if (fs) return fs as FileSystem;
    throw new Error(
      `${caller}: this runtime's process.getBuiltinModule has no node:fs/promises, so there are ` +
        `no files to write; keep the bytes of saveCheckpoint() instead.`,
    );
  }
  if (runtime === undefined || runtime === null) {
    throw new Error(
      `${caller}: there are no files here (no node:fs; this looks like a browser). Keep the ` +
        `bytes of saveCheckpoint() instead, e.g. offer them as a download, and hand them back ` +
        `to restoreCheckpoint().`,
    );
  }
  throw new Error(
    `${caller}: this runtime has \`process\` but no process.getBuiltinModule, through which the ` +
      `package reaches node:fs/promises. Node 20.16 or later, Deno 2.1 or later and current Bun ` +
      `have it: update the runtime.`,
  );
}
