/**
 * The element type of a {@linkcode BufferRegion}, of a store's gradients
 * (`VariableStoreOptions.gradDtype`) and of {@linkcode IndexedSlices} values: float32, or
 * float16 (IEEE halves, packed two per 32-bit word).
 *
 * @example
 * ```ts
 * import type { RegionDtype } from "@webgpu-adagrad/core";
 *
 * const gradDtype: RegionDtype = "float16";
 * ```
 */
export type RegionDtype = "float32" | "float16";

/**
 * A float32 (or, for a float16 store's gradients, float16) range of a GPU buffer that a shader
 * can bind directly: a variable's gradient region, or an optimizer slot. `offset` is a multiple of the device's `minStorageBufferOffsetAlignment`
 * for regions inside a {@linkcode VariableStore}.
 *
 * @example
 * ```ts ignore
 * const entry: GPUBindGroupEntry = { binding: 0, resource: weights.grad.binding };
 * ```
 */
export class BufferRegion {
  /** The buffer holding the range. */
  readonly buffer: GPUBuffer;
  /** Byte offset of the range in `buffer`. */
  readonly offset: number;
  /** Byte length of the range (a float16 range is padded to a multiple of 4 bytes). */
  readonly byteLength: number;
  /** The element type: `"float16"` for the gradients of a store made with `gradDtype`. */
  readonly dtype: RegionDtype;
  readonly #size: number;

  /**
   * Describes a range; allocates nothing.
   *
   * @param buffer the buffer
   * @param offset byte offset, a multiple of 4
   * @param byteLength byte length, a positive multiple of 4
   * @param dtype the element type (default float32)
   * @param size elements (default: as many as `byteLength` holds)
   */
  constructor(
    buffer: GPUBuffer,
    offset: number,
    byteLength: number,
    dtype: RegionDtype = "float32",
    size?: number,
  ) {
    this.buffer = buffer;
    this.offset = offset;
    this.byteLength = byteLength;
    this.dtype = dtype;
    this.#size = size ?? byteLength / (dtype === "float16" ? 2 : 4);
  }

  /** Number of elements. */
  get size(): number {
    return this.#size;
  }

  /** The range as a `GPUBufferBinding`, ready for a bind group entry's `resource`. */
  get binding(): GPUBufferBinding {
    return { buffer: this.buffer, offset: this.offset, size: this.byteLength };
  }
}
