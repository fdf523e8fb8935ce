import { COPY_DST, COPY_SRC, STORAGE } from "../_common/usage.ts";
import { alignUp } from "../_common/layout.ts";
import { writeFloats } from "../device/_transfer.ts";
import { assertDeviceAlive } from "../device/device_lost.ts";
import { BufferRegion, type RegionDtype } from "./buffer_region.ts";

/** Every buffer owned by an arena, so a store buffer passed as a bare binding is caught. */
export const arenaBuffers: WeakSet<GPUBuffer> = new WeakSet();

/** What an arena needs to know about one of its variables. */
export interface ArenaMember {
  readonly name: string;
  readonly offset: number;
  readonly byteLength: number;
  /** The variable's shape. */
  readonly shape: readonly number[];
}

/**
 * One pair of GPU buffers (variables, and gradients when first needed) holding several variables
 * side by side, at the offsets the packer chose. Allocation waits until a buffer is first needed, so that the arena is
 * created at the exact size its variables take; from then on the arena is sealed and variables
 * declared later go to a new arena. Initial values wait in `#pending` until then, and are written
 * through `mappedAtCreation`, with no staging copy.
 */
export class Arena {
  readonly device: GPUDevice;
  readonly index: number;
  readonly label: string;
  readonly members: ArenaMember[] = [];
  /** Bytes up to the end of the last member. */
  byteLength = 0;
  /** The gradients' element type: float16 halves the gradient buffer and its offsets. */
  readonly gradDtype: RegionDtype;
  readonly #usage: number;
  readonly #onSeal: () => void;
  #pending = new Map<number, Float32Array | number>();
  #buffer: GPUBuffer | null = null;
  #gradBuffer: GPUBuffer | null = null;
  #destroyed = false;

  constructor(
    device: GPUDevice,
    index: number,
    label: string,
    extraUsage: number,
    gradDtype: RegionDtype,
    onSeal: () => void,
  ) {
    this.gradDtype = gradDtype;
    this.device = device;
    this.index = index;
    this.label = label;
    this.#usage = STORAGE | COPY_SRC | COPY_DST | extraUsage;
    this.#onSeal = onSeal;
  }

  /** True once the GPU buffers exist (the arena then takes no more variables). */
  get materialized(): boolean {
    return this.#buffer !== null;
  }

  /** Adds a member (only while not materialized) and returns its index. */
  add(member: ArenaMember, init: Float32Array | number | undefined): number {
    const index = this.members.length;
    this.members.push(member);
    this.byteLength = member.offset + member.byteLength;
    if (init !== undefined && init !== 0) this.#pending.set(index, init);
    return index;
  }

  /** The variables buffer, allocating the arena on first use. */
  get buffer(): GPUBuffer {
    this.materialize();
    return this.#buffer!;
  }

  /**
   * The gradients buffer, same layout as `buffer`, allocated on first use: a table that only ever
   * gets sparse gradients (an embedding) never pays for a dense gradient buffer.
   */
  get gradBuffer(): GPUBuffer {
    this.materialize();
    if (!this.#gradBuffer) {
      this.#gradBuffer = this.device.createBuffer({
        label: `${this.label} gradients ${this.index}`,
        size: this.gradDtype === "float16" ? alignUp(this.bufferSize / 2, 16) : this.bufferSize,
        usage: STORAGE | COPY_SRC | COPY_DST,
      });
      arenaBuffers.add(this.#gradBuffer);
    }
    return this.#gradBuffer;
  }

  /**
   * Member `index`'s gradient region: at the variable's offset, or at half of it for float16
   * (element i is half i of the buffer), padded to 4 bytes.
   */
  gradRegion(index: number): BufferRegion {
    const { offset, byteLength } = this.members[index];
    if (this.gradDtype === "float32") return new BufferRegion(this.gradBuffer, offset, byteLength);
    const size = byteLength / 4;
    return new BufferRegion(this.gradBuffer, offset / 2, alignUp(2 * size, 4), "float16", size);
  }

  /** The gradients buffer if it was allocated, else null. */
  /** Records the clear of the whole gradient buffer, if it is allocated. */
  clearGradients(encoder: GPUCommandEncoder): void {
    this.assertAlive(`the gradients of ${this.label}`);
    if (this.#gradBuffer) encoder.clearBuffer(this.#gradBuffer);
  }

  get gradBufferIfAllocated(): GPUBuffer | null {
    return this.#gradBuffer;
  }

  /** Buffer size in bytes: the members' extent rounded up to 16 bytes. */
  get bufferSize(): number {
    return alignUp(Math.max(this.byteLength, 4), 16);
  }

  assertAlive(what: string): void {
    if (this.#destroyed) {
      throw new TypeError(`${what} belongs to a destroyed VariableStore (${this.label})`);
    }
    assertDeviceAlive(this.device, what);
  }

  materialize(): void {
    if (this.#buffer) return;
    this.assertAlive(`arena ${this.index}`);
    this.#onSeal();
    const size = this.bufferSize;
    const buffer = this.device.createBuffer({
      label: `${this.label} variables ${this.index}`,
      size,
      usage: this.#usage,
      mappedAtCreation: this.#pending.size > 0,
    });
    if (this.#pending.size > 0) {
      const view = new Float32Array(buffer.getMappedRange());
      for (const [index, init] of this.#pending) {
        const { offset, byteLength } = this.members[index];
        if (typeof init === "number") view.fill(init, offset / 4, (offset + byteLength) / 4);
        else view.set(init, offset / 4);
      }
      buffer.unmap();
      this.#pending.clear();
    }
    this.#buffer = buffer;
    arenaBuffers.add(buffer);
  }

  /** Writes values of member `index`: queued if the arena is not allocated yet. */
  write(index: number, data: Float32Array | number): void {
    if (!this.#buffer) {
      this.#pending.set(index, typeof data === "number" ? data : data.slice());
      return;
    }
    const { offset, byteLength } = this.members[index];
    const values = typeof data === "number" ? new Float32Array(byteLength / 4).fill(data) : data;
    writeFloats(this.device, this.#buffer, offset, values);
  }

  destroy(): void {
    this.#destroyed = true;
    this.#buffer?.destroy();
    this.#gradBuffer?.destroy();
    this.#pending.clear();
  }
}
