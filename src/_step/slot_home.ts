// Where a group of variables keeps its accumulators and stages its dense gradients: a store arena
// (ArenaSlots, arena_slots.ts) or a caller-owned buffer (ExternalSlots, external_slots.ts). The step
// and the optimizer see only this interface, so both kinds go through one staging loop.
import type { BufferRegion } from "../memory/buffer_region.ts";
import type { GradSource } from "./plan.ts";
import type { UpdateGroup } from "./update_group.ts";

/** A group of variables with their accumulators, updated by one dispatch. */
export interface SlotHome {
  readonly group: UpdateGroup;
  /** Where member `index`'s dense gradient is staged: a buffer and a byte offset. */
  gradientAt(index: number): { buffer: GPUBuffer; offset: number };
  /** Bytes of member `index`'s staged dense gradient (float16 ones are padded to 4 bytes). */
  gradientBytes(index: number): number;
  /** Member `index`'s accumulator, of `elements` float32s. */
  accumulator(index: number, elements: number): BufferRegion;
  destroy(): void;
}

/** A variable of a step, resolved to where its slots live: one entry per piece of a variable. */
export interface StepEntry {
  home: SlotHome;
  /** The piece's member index in its home's group. */
  index: number;
  /** The piece's gradient (a dense one cut to the piece; an IndexedSlices whole, shared). */
  grad: GradSource;
  /** The piece's shape (the variable's, for a variable in one piece). */
  shape: readonly number[];
  byteLength: number;
  /**
   * A piece of a variable past one binding: its first row in the variable, and whether it
   * follows the variable's previous piece (one variable to norm clipping: one norm, one id).
   */
  piece?: { firstRow: number; continues: boolean };
}

/** Makes the update group of a new home (the step pipeline's, so it shares the step's buffers). */
export type GroupFactory = (label: string) => UpdateGroup;
