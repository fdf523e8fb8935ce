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
 * binds directly: a variable's gradient region, or an optimizer slot. It is a `GPUBufferBinding`
 * itself, so it goes straight into a bind group entry's `resource`: `buffer`, `offset` and `size`
 * are in bytes, as WebGPU reads them; `length` counts the elements. `offset` is a multiple of the
 * device's `minStorageBufferOffsetAlignment` for regions inside a {@linkcode VariableStore}.
 *
 * @example
 * ```ts
 * import { VariableStore } from "@webgpu-adagrad/core";
 *
 * const adapter = await navigator.gpu.requestAdapter();
 * const device = await adapter!.requestDevice();
 * const store = new VariableStore(device);
 * const w = store.variable("dense/kernel", [3, 5]);
 * const grad = w.grad;
 * console.log(grad.length, grad.size); // 15 60: elements, bytes
 * // Bound as it is: your shader sees all 15 gradient elements.
 * const layout = device.createBindGroupLayout({
 *   entries: [{ binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: "storage" } }],
 * });
 * device.createBindGroup({ layout, entries: [{ binding: 0, resource: grad }] });
 * device.destroy();
 * ```
 */
export class BufferRegion implements GPUBufferBinding {
  /** The buffer holding the range. */
  readonly buffer: GPUBuffer;
  /** Byte offset of the range in `buffer`. */
  readonly offset: number;
  /**
   * Byte size of the range, as `GPUBufferBinding.size` means it (a float16 range is padded to a
   * multiple of 4 bytes). The same as `byteLength`; the element count is `length`.
   */
  readonly size: number;
  /** Byte length of the range: the same as `size`. */
  readonly byteLength: number;
  /** Number of elements (for float16, without the padding). */
  readonly length: number;
  /** The element type: `"float16"` for the gradients of a store made with `gradDtype`. */
  readonly dtype: RegionDtype;

  /**
   * Describes a range; allocates nothing.
   *
   * @param buffer the buffer
   * @param offset byte offset, a multiple of 4
   * @param byteLength byte length, a positive multiple of 4
   * @param dtype the element type (default float32)
   * @param length elements (default: as many as `byteLength` holds)
   */
  constructor(
    buffer: GPUBuffer,
    offset: number,
    byteLength: number,
    dtype: RegionDtype = "float32",
    length?: number,
  ) {
    this.buffer = buffer;
    this.offset = offset;
    // Bytes, as WebGPU reads a GPUBufferBinding's `size`; `length` counts the elements.
    this.size = byteLength;
    this.byteLength = byteLength;
    this.length = length ?? byteLength / (dtype === "float16" ? 2 : 4);
    this.dtype = dtype;
  }

  /**
   * The range as a plain `{ buffer, offset, size }` object. The region itself is already a valid
   * `GPUBufferBinding`; this is for code that wants a plain dictionary (to spread or serialize).
   */
  get binding(): GPUBufferBinding {
    return { buffer: this.buffer, offset: this.offset, size: this.size };
  }
}
