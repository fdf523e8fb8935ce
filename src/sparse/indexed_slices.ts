import { BufferRegion, type RegionDtype } from "../memory/buffer_region.ts";
import { alignUp } from "../_common/layout.ts";
import { isHalfData } from "../_common/float16.ts";
import type { GpuBinding } from "../memory/gpu_binding.ts";
import { describe, type GpuRange, gpuRange } from "../_common/validate.ts";

/** Where an {@linkcode IndexedSlices} keeps its rows or indices: the CPU, or a GPU range. */
export type SlicesData<T extends Int32Array | Uint32Array | Float32Array> =
  | T
  | BufferRegion
  | GpuBinding
  | GPUBuffer;

/**
 * A sparse gradient, as Keras's `tf.IndexedSlices`: row `i` of `values` is the gradient of row
 * `indices[i]` of the variable; rows not listed have no gradient. Indices may repeat: as Keras
 * does, the optimizer clips the value rows first (duplicates counted separately in a norm), then
 * sums the rows of each index, then updates each touched row once. Rows nobody touched, and their
 * accumulators, keep their bits.
 *
 * Both arrays may live on the CPU (typed arrays, uploaded by the step) or on the GPU (a
 * `GPUBuffer`, a `{ buffer, offset?, size? }` binding or a {@linkcode BufferRegion}, copied by
 * the step, so their buffers need `COPY_SRC` usage). Indices are 32-bit: `Int32Array`,
 * `Uint32Array`, or `u32` on the GPU.
 *
 * Values may be float16, as under Keras's `mixed_float16` policy: a `Float16Array` or a
 * `Uint16Array` of half-float bits on the CPU, or a GPU range of halves packed two per 32-bit
 * word (its byte size rounded up to 4) with `valuesDtype: "float16"`. The step widens them to
 * float32, exactly, before clipping and summing.
 *
 * Out-of-range indices: on the CPU they are refused before anything is written (a `RangeError`
 * naming the variable and the offset, TensorFlow's CPU wording). On the GPU nothing can be
 * checked without a readback, so, as TensorFlow's GPU kernel does, such rows are skipped and
 * counted: read the count with {@linkcode Adagrad.skippedIndices}.
 *
 * @example
 * ```ts
 * import { Adagrad, IndexedSlices, VariableStore } from "@webgpu-adagrad/core";
 *
 * const adapter = await navigator.gpu.requestAdapter();
 * const device = await adapter!.requestDevice();
 * const store = new VariableStore(device);
 * const table = store.variable("embedding", [1000, 4], new Float32Array(4000).fill(1));
 * const opt = new Adagrad({ learningRate: 0.1 });
 * // Rows 7 and 42 get gradients; row 7 twice, so its two rows are summed first.
 * const values = new Float32Array([0.1, 0.2, 0.3, 0.4, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5]);
 * await opt.applyGradients([[new IndexedSlices(values, new Int32Array([7, 42, 7]), [1000, 4]), table]]);
 * console.log((await table.read()).subarray(28, 32)); // row 7 moved; rows never touched did not
 * device.destroy();
 * ```
 */
export class IndexedSlices {
  /** The gradient rows, `[nnz, ...rowShape]` in row-major order. */
  readonly values: SlicesData<Float32Array> | Uint16Array;
  /** The values' element type. */
  readonly valuesDtype: RegionDtype;
  /** For each row of `values`, the variable row it belongs to. */
  readonly indices: SlicesData<Int32Array | Uint32Array>;
  /** The dense gradient's shape, `[rows, ...rowShape]` (the variable's shape). */
  readonly denseShape: readonly number[];
  /** Number of rows given (`indices`' length). */
  readonly nnz: number;
  /** Elements per row: the product of `denseShape` after its first dimension. */
  readonly rowSize: number;

  /**
   * Wraps a sparse gradient; checks the types and that `values` holds `nnz` rows of
   * `denseShape.slice(1)`. The indices' range is checked against the variable by the step.
   *
   * @param values `[nnz, ...rowShape]` values: a `Float32Array`, 16-bit float data (a
   *   `Float16Array`, or `Uint16Array` bits), or a GPU range
   * @param indices `nnz` row indices: an `Int32Array`, a `Uint32Array`, or a GPU range of `u32`
   * @param denseShape the variable's shape, at least one dimension
   * @param valuesDtype `"float16"` for a GPU range of halves; CPU arrays tell by their type
   * @throws {TypeError} for a wrong type, a bad shape, or `values` of the wrong size
   * @throws {RangeError} for a GPU range outside its buffer
   */
  constructor(
    values: SlicesData<Float32Array> | Uint16Array,
    indices: SlicesData<Int32Array | Uint32Array>,
    denseShape: readonly number[],
    valuesDtype?: RegionDtype,
  ) {
    if (valuesDtype !== undefined && valuesDtype !== "float32" && valuesDtype !== "float16") {
      throw new TypeError(
        `IndexedSlices: valuesDtype must be "float32" or "float16", got ${describe(valuesDtype)}`,
      );
    }
    // CPU arrays and BufferRegions know their element type; other GPU ranges are told.
    const known: RegionDtype | undefined = values instanceof BufferRegion
      ? values.dtype
      : ArrayBuffer.isView(values)
      ? (isHalfData(values) ? "float16" : "float32")
      : undefined;
    if (known !== undefined && valuesDtype !== undefined && known !== valuesDtype) {
      const kind = values instanceof BufferRegion
        ? `a ${known} BufferRegion`
        : `a ${values.constructor.name}`;
      throw new TypeError(`IndexedSlices: values are ${kind}, not ${valuesDtype} data`);
    }
    const dtype: RegionDtype = known ?? valuesDtype ?? "float32";
    const half = dtype === "float16" && ArrayBuffer.isView(values);
    if (
      !Array.isArray(denseShape) || denseShape.length === 0 ||
      denseShape.some((d) => typeof d !== "number" || !Number.isSafeInteger(d) || d < 0)
    ) {
      throw new TypeError(
        `IndexedSlices: denseShape must be an array of at least one non-negative integer, got ` +
          (Array.isArray(denseShape) ? `[${denseShape.join(", ")}]` : describe(denseShape)),
      );
    }
    const rowSize = denseShape.slice(1).reduce((a, b) => a * b, 1);
    if (rowSize === 0) {
      throw new TypeError(
        `IndexedSlices: denseShape [${denseShape.join(", ")}] has rows of no elements ` +
          `(Inner dimension should be greater than zero.)`,
      );
    }
    let nnz: number;
    if (indices instanceof Int32Array || indices instanceof Uint32Array) nnz = indices.length;
    else {
      const range = gpuRange(indices, "IndexedSlices indices");
      if (!range) {
        throw new TypeError(
          `IndexedSlices: indices must be an Int32Array, a Uint32Array or a GPU range of u32, ` +
            `got ${describe(indices)}`,
        );
      }
      nnz = range.size / 4;
    }
    let valueCount: number;
    if (values instanceof Float32Array || half) valueCount = (values as Uint16Array).length;
    else {
      const range = gpuRange(values, "IndexedSlices values");
      if (!range) {
        throw new TypeError(
          `IndexedSlices: values must be a Float32Array, a Float16Array, a Uint16Array of ` +
            `float16 bits, or a GPU range, got ${describe(values)}`,
        );
      }
      // Halves are copied in whole 32-bit words.
      valueCount = dtype === "float16"
        ? (range.size === alignUp(2 * nnz * rowSize, 4) ? nnz * rowSize : range.size / 2)
        : range.size / 4;
    }
    if (valueCount !== nnz * rowSize) {
      throw new TypeError(
        `IndexedSlices: values hold ${valueCount} elements, expected ${nnz} rows of ${rowSize} ` +
          `(${nnz * rowSize}) for ${nnz} indices and denseShape [${denseShape.join(", ")}]`,
      );
    }
    this.values = values;
    this.valuesDtype = dtype;
    this.indices = indices;
    this.denseShape = Object.freeze([...denseShape]);
    this.nnz = nnz;
    this.rowSize = rowSize;
  }
}

/** The GPU range of `data`, or null for a typed array (already validated by the constructor). */
export function slicesRange(data: unknown): GpuRange | null {
  return ArrayBuffer.isView(data) ? null : gpuRange(data, "IndexedSlices");
}

/** `data` as a typed array or a resolved GPU range. */
export function slicesData<T extends Int32Array | Uint32Array | Float32Array>(
  data: SlicesData<T>,
): T | GpuRange {
  return ArrayBuffer.isView(data) ? data as T : slicesRange(data)!;
}
