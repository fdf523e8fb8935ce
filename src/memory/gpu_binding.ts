// The ways to name GPU memory a caller owns: a range of a buffer, and a variable in one.
import type { Variable } from "./variable.ts";

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
 * A variable handed to {@linkcode Adagrad.applyGradients}: a store {@linkcode Variable}, or a
 * variable in the caller's own buffer ({@linkcode ExternalVariable}, or a whole `GPUBuffer`).
 *
 * @example
 * ```ts ignore
 * const vars: VariableRef[] = [w, { buffer: myBuffer, offset: 256, size: 64, name: "b" }];
 * ```
 */
export type VariableRef = Variable | ExternalVariable | GPUBuffer;
