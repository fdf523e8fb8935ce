// How a slot or a variable stores its numbers on the GPU: one codec per format, the bytes an
// element takes and its conversion to and from the float32 the CPU side always gives and takes
// (reads, writes, checkpoints), and the value the kernels' STATE_FORMAT override takes for it
// (the `load_*`/`store_*` functions of adagrad_dense.wgsl and _sparse_update.wgsl). float32 is the
// only format today; a new one is a codec here and a branch there (docs/development.md, "Adding a
// number format").

/**
 * A storage format of optimizer state or weights: how many bytes its elements take on the GPU
 * and how they convert to and from the float32 values the CPU side gives and takes
 * ({@linkcode Slot.read}, {@linkcode Slot.write}, checkpoints). float32 is the only one yet.
 *
 * @example
 * ```ts ignore
 * const format: NumberFormat = opt.getSlot(w, "accumulator").format;
 * console.log(format.name, format.bytes(10)); // "float32" 40
 * ```
 */
export interface NumberFormat {
  /** Its name, as options and checkpoints write it. */
  readonly name: string;
  /** `STATE_FORMAT`'s value for it (FORMAT_* in shaders/_interface.wgsl, compared by a test). */
  readonly kernel: number;
  /** Bytes of `elements` elements stored. */
  bytes(elements: number): number;
  /** Elements stored in `bytes` bytes. */
  elements(bytes: number): number;
  /** The stored bytes of `values` (a view when the format is float32: no copy). */
  encode(values: Float32Array): Uint8Array;
  /** The values of stored `bytes` (a view when the format is float32 and aligned: no copy). */
  decode(bytes: Uint8Array): Float32Array;
}

/** `STATE_FORMAT`'s values, by format name. */
export const FormatMode = { float32: 0 } as const;

/** IEEE float32, 4 bytes, stored as given. */
export const FLOAT32: NumberFormat = Object.freeze({
  name: "float32",
  kernel: FormatMode.float32,
  bytes: (elements: number) => 4 * elements,
  elements: (bytes: number) => bytes / 4,
  encode: (values: Float32Array) =>
    new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
  decode: (bytes: Uint8Array) =>
    bytes.byteOffset % 4 === 0
      ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
      : new Float32Array(bytes.slice().buffer),
});
