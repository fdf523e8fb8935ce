import type { BufferRegion } from "../memory/buffer_region.ts";
import type { IndexedSlices } from "../sparse/indexed_slices.ts";
import type { Variable } from "../memory/variable.ts";

/**
 * A range of a GPU buffer in WebGPU's own `GPUBufferBinding` shape: `offset` and `size` in bytes.
 * `offset` defaults to 0 and `size` to the rest of the buffer.
 *
 * @example
 * ```ts ignore
 * const binding: GpuBinding = { buffer: myBuffer, offset: 256, size: 4 * 1024 };
 * ```
 */
export interface GpuBinding {
  /** The buffer. */
  buffer: GPUBuffer;
  /** Byte offset, a multiple of 4. Default 0. */
  offset?: number;
  /** Byte size, a multiple of 4. Default: the rest of the buffer. */
  size?: number;
}

/**
 * A variable that lives in the caller's own GPU buffer rather than in a {@linkcode VariableStore}.
 * The buffer needs `STORAGE` usage; the optimizer keeps its accumulator in a buffer of its own.
 *
 * @example
 * ```ts ignore
 * const weights: ExternalVariable = { buffer: myWeights, offset: 0, size: 4096, name: "w" };
 * ```
 */
export interface ExternalVariable extends GpuBinding {
  /** A name for messages and slot names. Default: the buffer's label and the offset. */
  name?: string;
}

/**
 * A gradient handed to {@linkcode Adagrad.applyGradients}:
 * - a `Float32Array` of the variable's size (uploaded into the variable's gradient region;
 *   rounded to float16 for a store made with `gradDtype: "float16"`);
 * - for such a store, 16-bit float data: a `Float16Array`, or a `Uint16Array` of half bits;
 * - the variable's own `grad` region (used in place, no copy);
 * - another GPU range: a {@linkcode BufferRegion}, a {@linkcode GpuBinding} or a whole
 *   `GPUBuffer`, of the gradient region's byte length (the variable's, or half of it rounded up
 *   to 4 bytes for float16), with `COPY_SRC` usage (copied on the GPU);
 * - an {@linkcode IndexedSlices}: rows of the variable (Keras's sparse gradient); only those rows
 *   and their accumulators change;
 * - `null` or `undefined`: no gradient this step; the variable and its accumulator are left alone.
 *
 * @example
 * ```ts ignore
 * const grads: Gradient[] = [w.grad, new Float32Array([0.1, 0.2]), null];
 * ```
 */
export type Gradient =
  | Float32Array
  | Uint16Array
  | IndexedSlices
  | BufferRegion
  | GpuBinding
  | GPUBuffer
  | null
  | undefined;

/**
 * A variable handed to {@linkcode Adagrad.applyGradients}: a store {@linkcode Variable}, or a
 * variable in the caller's own buffer ({@linkcode ExternalVariable}, or a whole `GPUBuffer`).
 *
 * @example
 * ```ts ignore
 * const vars: VariableRef[] = [w, { buffer: myBuffer, offset: 256, size: 64, name: "b" }];
 * ```
 */
export type VariableRef = Variable | ExternalVariable | GPUBuffer;

/**
 * `[gradient, variable]`, in Keras's `zip(grads, vars)` order.
 *
 * @example
 * ```ts ignore
 * const pairs: GradientPair[] = [[w.grad, w], [null, frozen]];
 * ```
 */
export type GradientPair = readonly [Gradient, VariableRef];
