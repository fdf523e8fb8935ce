// A checkpoint's windows to and from a file: at the header's length plus the window's start in
// the data section, whatever that sum (numbers, exact past 4 GiB).
import { type FileHandle, readAt, writeAt } from "./_file_system.ts";
import type { SaveSink } from "./_streaming.ts";

/** Writes each window of a save at its place after `headerBytes`, from one reused buffer. */
export function fileSink(file: FileHandle, headerBytes: number, chunk: number): SaveSink {
  const buffer = new Uint8Array(chunk);
  return {
    window: (_, length) => buffer.subarray(0, length),
    flush: (bytes, start) => writeAt(file, bytes, headerBytes + start),
  };
}

/** Reads each window of a restore from its place in a file whose data starts at `dataStart`. */
export function fileSource(
  file: FileHandle,
  dataStart: number,
): (into: Uint8Array, start: number) => Promise<void> {
  return (into, start) => readAt(file, into, dataStart + start);
}
