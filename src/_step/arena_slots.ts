// The accumulators of a store arena's variables, as a SlotHome.
import type { Arena } from "../memory/_arena.ts";
import { BufferRegion } from "../memory/buffer_region.ts";
import { createFilledBuffer } from "../memory/_filled_buffer.ts";
import type { GroupFactory, SlotHome } from "./slot_home.ts";
import type { UpdateGroup } from "./update_group.ts";
import type { Variant } from "./variant.ts";

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
    makeGroup: GroupFactory,
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
    this.group = makeGroup(name);
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
