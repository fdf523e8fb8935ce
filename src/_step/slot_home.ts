// Where a group of variables keeps its slots and stages its dense gradients: a store arena
// (ArenaSlots, arena_slots.ts) or a caller-owned buffer (ExternalSlots, external_slots.ts). The step
// and the optimizer see only this interface, so both kinds go through one staging loop.
import { FLOAT32, type NumberFormat } from "../_common/number_format.ts";
import type { BufferRegion } from "../memory/buffer_region.ts";
import type { Slot } from "../memory/slot.ts";
import type { Variable } from "../memory/variable.ts";
import type { ExternalRef } from "./external_ref.ts";
import type { GradSource } from "./plan.ts";
import type { GroupBuffers, UpdateGroup } from "./update_group.ts";

/**
 * What a slot is to the kernels: the accumulator (Keras's `accumulator`, PyTorch's `sum`), Keras
 * 3's moving average, or its gradient sum.
 */
export type SlotRole = "accumulator" | "average" | "gradientSum";

/** A slot every variable of an optimizer gets: its name, its role and its initial value. */
export interface SlotSpec {
  readonly name: string;
  readonly role: SlotRole;
  readonly initial: number;
  /** How the slot stores its numbers (absent: float32, the only format yet). */
  readonly format?: NumberFormat;
}

/** The slot's number format. */
export function slotFormat(spec: SlotSpec): NumberFormat {
  return spec.format ?? FLOAT32;
}

/** The slot buffers of a home, by role, as an update group binds them. */
export function slotBuffers(
  specs: readonly SlotSpec[],
  buffers: readonly GPUBuffer[],
): Pick<GroupBuffers, "accumulators" | "averages" | "gradientSums"> {
  const of = (role: SlotRole) => buffers[specs.findIndex((s) => s.role === role)];
  return {
    accumulators: of("accumulator"),
    averages: of("average"),
    gradientSums: of("gradientSum"),
  };
}

/** A group of variables with their slots, updated by one dispatch. */
export interface SlotHome {
  readonly group: UpdateGroup;
  /** Where member `index`'s dense gradient is staged: a buffer and a byte offset. */
  gradientAt(index: number): { buffer: GPUBuffer; offset: number };
  /** Bytes of member `index`'s staged dense gradient (float16 ones are padded to 4 bytes). */
  gradientBytes(index: number): number;
  /** Member `index`'s slot `k` (of the optimizer's SlotSpecs), of `elements` float32s. */
  slot(index: number, elements: number, k: number): BufferRegion;
  destroy(): void;
}

/** One variable's slots and what its rule keeps of it on the CPU. */
export interface VariableRecord {
  /** The variable's name. */
  readonly name: string;
  /** The variable: a store's, or bytes of a caller's buffer. */
  readonly variable: Variable | ExternalRef;
  /** Its slots, in the order of the optimizer's SlotSpecs. */
  readonly slots: readonly Slot[];
  /** PyTorch: the steps that updated this variable (its state's `step`). */
  updates: number;
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
  /** The variable's slots and rule state. */
  record: VariableRecord;
}

/** Makes the update group of a new home (the step pipeline's, so it shares the step's buffers). */
export type GroupFactory = (label: string) => UpdateGroup;
