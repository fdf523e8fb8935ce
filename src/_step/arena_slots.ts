// Where a group of variables keeps its accumulators and stages its dense gradients: a store arena
// (ArenaSlots, here) or a caller-owned buffer (ExternalSlots, _external.ts). The step and the
// optimizer see only this interface, so both kinds go through one staging loop.
import type { Arena } from "../memory/_arena.ts";
import { createFilledBuffer, UpdateGroup } from "./update_group.ts";
import type { StepBuffers } from "./step_buffers.ts";
import type { Variant } from "./variant.ts";
import { BufferRegion } from "../memory/buffer_region.ts";

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

/**
 * The accumulators of a store arena's variables: one buffer for the whole arena, filled once with
 * the initial value, laid out by the variant, so regions of variables that get their slot later
 * are untouched until then.
 */
export class ArenaSlots implements SlotHome {
  readonly group: UpdateGroup;
  readonly arena: Arena;
  readonly #accumulators: GPUBuffer;

  constructor(
    shared: StepBuffers,
    arena: Arena,
    variant: Variant,
    initialValue: number,
    label: string,
  ) {
    this.arena = arena;
    const layout = variant.arenaSlots(arena.members, arena.bufferSize);
    const name = `${label} ${arena.label} ${arena.index}`;
    this.#accumulators = createFilledBuffer(
      arena.device,
      layout.bytes,
      initialValue,
      `${name} accumulators`,
    );
    this.group = new UpdateGroup(shared, name);
    this.group.configure(
      {
        variables: { buffer: arena.buffer },
        gradients: () => arena.gradBuffer,
        halfGradients: arena.gradDtype === "float16",
        accumulators: this.#accumulators,
      },
      arena.members.map((m, i) => ({
        varOffset: m.offset / 4,
        slotOffset: layout.offsets[i],
        length: m.byteLength / 4,
      })),
      layout.vectorize,
    );
  }

  gradientAt(index: number): { buffer: GPUBuffer; offset: number } {
    const { buffer, offset } = this.arena.gradRegion(index);
    return { buffer, offset };
  }

  gradientBytes(index: number): number {
    return this.arena.gradRegion(index).byteLength;
  }

  accumulator(index: number, elements: number): BufferRegion {
    return new BufferRegion(
      this.#accumulators,
      this.group.members[index].slotOffset * 4,
      elements * 4,
    );
  }

  destroy(): void {
    this.group.destroy();
    this.#accumulators.destroy();
  }
}
