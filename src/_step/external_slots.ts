// Variables in caller-owned GPU buffers, as a SlotHome: one update group per such buffer.
import { createFilledBuffer } from "../memory/_filled_buffer.ts";
import {
  type GroupFactory,
  slotBuffers,
  slotFormat,
  type SlotHome,
  type SlotSpec,
} from "./slot_home.ts";
import type { UpdateGroup } from "./update_group.ts";
import { COPY_DST, STORAGE } from "../_common/usage.ts";
import { BufferRegion } from "../memory/buffer_region.ts";
import { bindingWindow, type ExternalRef } from "./external_ref.ts";

/**
 * Every variable the optimizer has seen in one caller-owned `GPUBuffer`: one dispatch per such
 * buffer. The slots and a gradient staging area live in buffers of the optimizer's own, indexed by
 * `slotOffsets`; they grow (the slots copied over on the GPU) only when the buffer gains a
 * variable, never on an ordinary step.
 */
export class ExternalSlots implements SlotHome {
  readonly buffer: GPUBuffer;
  readonly refs: ExternalRef[] = [];
  /** Element offset of each member's accumulator and gradient in the optimizer's buffers. */
  readonly slotOffsets: number[] = [];
  readonly group: UpdateGroup;
  readonly #device: GPUDevice;
  readonly #indexByRange = new Map<string, number>();
  readonly #specs: readonly SlotSpec[];
  readonly #alignment: number;
  #slotElements = 0;
  #capacity = 0;
  /** One buffer per slot spec. */
  #slots: GPUBuffer[] = [];
  #gradients: GPUBuffer | null = null;

  constructor(
    device: GPUDevice,
    makeGroup: GroupFactory,
    buffer: GPUBuffer,
    specs: readonly SlotSpec[],
  ) {
    this.#device = device;
    this.buffer = buffer;
    this.#specs = specs;
    this.#alignment = device.limits.minStorageBufferOffsetAlignment;
    this.group = makeGroup(`webgpu-adagrad external ${buffer.label || "buffer"}`);
  }

  /** Index of the member at exactly these bytes, or -1. */
  indexOf(offset: number, byteLength: number): number {
    return this.#indexByRange.get(`${offset}:${byteLength}`) ?? -1;
  }

  gradientAt(index: number): { buffer: GPUBuffer; offset: number } {
    return { buffer: this.#gradients!, offset: this.slotOffsets[index] * 4 };
  }

  gradientBytes(index: number): number {
    return this.refs[index].byteLength;
  }

  slot(index: number, elements: number, k: number): BufferRegion {
    // Looked up when used: the slots move when the buffer gains a variable.
    const format = slotFormat(this.#specs[k]);
    return new BufferRegion(
      this.#slots[k],
      format.bytes(this.slotOffsets[index]),
      format.bytes(elements),
    );
  }

  /** Adds members (already validated), growing the slot buffers; returns their indices. */
  add(refs: readonly ExternalRef[]): number[] {
    const device = this.#device;
    const first = this.refs.length;
    for (const r of refs) {
      this.#indexByRange.set(`${r.offset}:${r.byteLength}`, this.refs.length);
      this.refs.push(r);
      this.slotOffsets.push(this.#slotElements);
      this.#slotElements += r.byteLength / 4;
    }
    if (this.#slotElements > this.#capacity) {
      const capacity = Math.max(this.#slotElements, 2 * this.#capacity);
      const label = this.group.label;
      const bytes = (k: number, elements: number) => slotFormat(this.#specs[k]).bytes(elements);
      const slots = this.#specs.map((spec, k) =>
        createFilledBuffer(device, bytes(k, capacity), spec.initial, `${label} ${spec.name}`)
      );
      if (this.#capacity > 0) {
        const encoder = device.createCommandEncoder();
        slots.forEach((to, k) =>
          encoder.copyBufferToBuffer(this.#slots[k], 0, to, 0, bytes(k, this.#capacity))
        );
        device.queue.submit([encoder.finish()]);
        for (const old of this.#slots) old.destroy();
      }
      this.#gradients?.destroy();
      this.#gradients = device.createBuffer({
        label: `${label} gradients`,
        size: capacity * 4,
        usage: STORAGE | COPY_DST,
      });
      this.#slots = slots;
      this.#capacity = capacity;
    }
    const window = bindingWindow(this.refs, this.#alignment);
    this.group.configure(
      {
        variables: { buffer: this.buffer, offset: window.offset, size: window.size },
        gradients: () => this.#gradients!,
        ...slotBuffers(this.#specs, this.#slots),
      },
      this.refs.map((r, i) => ({
        varOffset: (r.offset - window.offset) / 4,
        slotOffset: this.slotOffsets[i],
        length: r.byteLength / 4,
      })),
    );
    return refs.map((_, i) => first + i);
  }

  destroy(): void {
    this.group.destroy();
    for (const buffer of this.#slots) buffer.destroy();
    this.#gradients?.destroy();
  }
}
