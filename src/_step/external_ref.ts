// A variable in a caller-owned GPU buffer, resolved to bytes, and the window one binding covers.
import { alignDown, alignUp } from "../_common/layout.ts";

/** A variable in the caller's own buffer, resolved to bytes. */
export interface ExternalRef {
  readonly buffer: GPUBuffer;
  readonly offset: number;
  readonly byteLength: number;
  readonly name: string;
}

/** The bytes a group binds: from the first member (aligned down) to the end of the last. */
export function bindingWindow(
  refs: readonly { offset: number; byteLength: number }[],
  alignment: number,
): { offset: number; size: number } {
  let start = Infinity;
  let end = 0;
  for (const r of refs) {
    start = Math.min(start, r.offset);
    end = Math.max(end, r.offset + r.byteLength);
  }
  const offset = alignDown(start, alignment);
  return { offset, size: alignUp(end, 4) - offset };
}
