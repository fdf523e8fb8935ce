import { dispatchGrid, TILE_FIELDS, TILE_HEADER_BYTES, tilesFor, writeTiles } from "./_tiles.ts";
import type { TileSource } from "./_tiles.ts";
import { type DenseKernel, TILE_ELEMENTS } from "./_kernels.ts";
import { COPY_DST, COPY_SRC, STORAGE } from "./_usage.ts";

/** One variable of a group, in elements of the bound buffers. */
export interface GroupMember {
  varOffset: number;
  slotOffset: number;
  length: number;
}

/** The buffers one dispatch binds. */
export interface GroupBuffers {
  variables: GPUBufferBinding;
  gradients: GPUBuffer;
  accumulators: GPUBuffer;
}

/** A storage buffer whose every float32 is `value`, written through `mappedAtCreation`. */
export function createFilledBuffer(
  device: GPUDevice,
  byteLength: number,
  value: number,
  label: string,
): GPUBuffer {
  const buffer = device.createBuffer({
    label,
    size: byteLength,
    usage: STORAGE | COPY_SRC | COPY_DST,
    mappedAtCreation: value !== 0,
  });
  if (value !== 0) {
    new Float32Array(buffer.getMappedRange()).fill(value);
    buffer.unmap();
  }
  return buffer;
}

/**
 * Variables updated by one dispatch: their buffers, bind group and tile table. Everything here is
 * created when the group is configured (once for a store arena, again only when an external
 * buffer gains a variable), so a step allocates nothing: it rewrites the tile table only when the
 * set of variables with gradients changes, and dispatches.
 */
export class UpdateGroup {
  readonly device: GPUDevice;
  readonly kernel: DenseKernel;
  readonly label: string;
  members: readonly GroupMember[] = [];
  buffers: GroupBuffers | null = null;
  readonly #params: GPUBuffer;
  #tileBuffer: GPUBuffer | null = null;
  #tileWords = new Uint32Array(0);
  #tileCount = 0; // tiles in the GPU table, which covers #lastIds
  #lastIds: number[] | null = null;
  #active = false;
  #bindGroup: GPUBindGroup | null = null;

  constructor(device: GPUDevice, kernel: DenseKernel, params: GPUBuffer, label: string) {
    this.device = device;
    this.kernel = kernel;
    this.#params = params;
    this.label = label;
  }

  /** (Re)binds buffers and members; sizes the tile table for all members at once. */
  configure(buffers: GroupBuffers, members: readonly GroupMember[]): void {
    const capacity = members.reduce((n, m) => n + tilesFor(m.length, TILE_ELEMENTS), 0);
    const bytes = TILE_HEADER_BYTES + capacity * TILE_FIELDS * 4;
    if (!this.#tileBuffer || this.#tileBuffer.size < bytes) {
      this.#tileBuffer?.destroy();
      this.#tileBuffer = this.device.createBuffer({
        label: `${this.label} tiles`,
        size: bytes,
        usage: STORAGE | COPY_DST,
      });
      this.#tileWords = new Uint32Array(bytes / 4);
    }
    this.buffers = buffers;
    this.members = members;
    this.#lastIds = null;
    this.#bindGroup = this.device.createBindGroup({
      label: this.label,
      layout: this.kernel.layout,
      entries: [
        { binding: 0, resource: { buffer: this.#params } },
        { binding: 1, resource: { buffer: this.#tileBuffer } },
        { binding: 2, resource: buffers.variables },
        { binding: 3, resource: { buffer: buffers.accumulators } },
        { binding: 4, resource: { buffer: buffers.gradients } },
      ],
    });
  }

  /**
   * Makes the tile table cover exactly the members `ids` (ascending). Writes it to the GPU only
   * when the set differs from the previous step's.
   */
  setParticipants(ids: readonly number[]): void {
    this.#active = ids.length > 0;
    const last = this.#lastIds;
    if (!this.#active) return;
    if (last && last.length === ids.length && last.every((id, i) => id === ids[i])) return;
    const sources: TileSource[] = ids.map((id) => ({ ...this.members[id], id }));
    this.#tileCount = writeTiles(sources, TILE_ELEMENTS, this.#tileWords);
    const words = TILE_HEADER_BYTES / 4 + this.#tileCount * TILE_FIELDS;
    this.device.queue.writeBuffer(this.#tileBuffer!, 0, this.#tileWords, 0, words);
    this.#lastIds = [...ids];
  }

  /**
   * Records this group's dispatch into `pass` (the pipeline is already set) if
   * `setParticipants` gave it variables since the last encode. Returns the dispatch count.
   */
  encode(pass: GPUComputePassEncoder): number {
    const active = this.#active;
    this.#active = false;
    if (!active || this.#tileCount === 0) return 0;
    const [x, y] = dispatchGrid(this.#tileCount, this.kernel.maxWorkgroupsPerDimension);
    pass.setBindGroup(0, this.#bindGroup!);
    pass.dispatchWorkgroups(x, y);
    return 1;
  }

  destroy(): void {
    this.#tileBuffer?.destroy();
  }
}
