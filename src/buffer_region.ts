/**
 * A float32 range of a GPU buffer that a shader can bind directly: a variable's gradient region,
 * or an optimizer slot. `offset` is a multiple of the device's `minStorageBufferOffsetAlignment`
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
  /** Byte length of the range. */
  readonly byteLength: number;

  /**
   * Describes a range; allocates nothing.
   *
   * @param buffer the buffer
   * @param offset byte offset, a multiple of 4
   * @param byteLength byte length, a positive multiple of 4
   */
  constructor(buffer: GPUBuffer, offset: number, byteLength: number) {
    this.buffer = buffer;
    this.offset = offset;
    this.byteLength = byteLength;
  }

  /** Number of float32 elements. */
  get size(): number {
    return this.byteLength / 4;
  }

  /** The range as a `GPUBufferBinding`, ready for a bind group entry's `resource`. */
  get binding(): GPUBufferBinding {
    return { buffer: this.buffer, offset: this.offset, size: this.byteLength };
  }
}
