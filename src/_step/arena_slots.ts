// The slots of a store arena's variables, as a SlotHome.
import type { Arena } from "../memory/_arena.ts";
import { BufferRegion } from "../memory/buffer_region.ts";
import { createFilledBuffer } from "../memory/_filled_buffer.ts";
import {
  type GroupFactory,
  slotBuffers,
  slotFormat,
  type SlotHome,
  type SlotSpec,
} from "./slot_home.ts";
import type { NumberFormat } from "../_common/number_format.ts";
import type { UpdateGroup } from "./update_group.ts";
import type { Variant } from "./variant.ts";

/**
 * The slots of a store arena's variables: one buffer per slot of the optimizer (the accumulator,
 * and Keras 3's average and gradient sum when it has them) for the whole arena, each filled once
 * with the slot's initial value and laid out by the variant, so regions of variables that get
 * their slots later are untouched until then.
 */
export class ArenaSlots implements SlotHome {
  readonly group: UpdateGroup;
  readonly arena: Arena;
  readonly #buffers: GPUBuffer[];
  readonly #formats: NumberFormat[];

  constructor(
    makeGroup: GroupFactory,
    arena: Arena,
    variant: Variant,
    specs: readonly SlotSpec[],
    label: string,
  ) {
    this.arena = arena;
    const layout = variant.arenaSlots(arena.members, arena.bufferSize);
    const name = `${label} ${arena.label} ${arena.index}`;
    this.#formats = specs.map(slotFormat);
    // The layout counts float32 elements (the variable arena's); each slot stores its own format.
    this.#buffers = specs.map((spec, k) =>
      createFilledBuffer(
        arena.device,
        this.#formats[k].bytes(layout.bytes / 4),
        spec.initial,
        `${name} ${spec.name}`,
      )
    );
    this.group = makeGroup(name);
    this.group.configure(
      {
        variables: { buffer: arena.buffer },
        gradients: () => arena.gradBuffer,
        halfGradients: arena.gradDtype === "float16",
        ...slotBuffers(specs, this.#buffers),
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

  slot(index: number, elements: number, k: number): BufferRegion {
    const format = this.#formats[k];
    return new BufferRegion(
      this.#buffers[k],
      format.bytes(this.group.members[index].slotOffset),
      format.bytes(elements),
    );
  }

  destroy(): void {
    this.group.destroy();
    for (const buffer of this.#buffers) buffer.destroy();
  }
}
