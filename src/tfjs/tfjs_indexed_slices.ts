import * as tf from "@tensorflow/tfjs-core";
import { IndexedSlices } from "../sparse/indexed_slices.ts";
import { activeWebGpuBackend, variableBuffer } from "./_backend.ts";
import type { TfjsTensor } from "./_types.ts";

/**
 * A sparse gradient from TF.js tensors, for {@linkcode TfjsAdagrad.applyGradients}: `values`
 * (float32, `[nnz, ...rowShape]`) and `indices` (int32, `[nnz]`) stay in their GPU buffers, with
 * no copy and no readback; only the rows listed change, duplicates summed (Keras's
 * `IndexedSlices`). TF.js's own gradient of a gather is dense; use this where you compute an
 * embedding's gradient yourself (the rows of the batch's upstream gradient and the batch's ids).
 * Keep both tensors alive until `applyGradients` has returned. Indices on the GPU are not read
 * back, so an out-of-range one is skipped and counted (`optimizer.adagrad.skippedIndices()`).
 *
 * @param values the gradient rows, float32
 * @param indices the variable row of each value row, int32
 * @param denseShape the variable's shape
 * @throws {TypeError} for a wrong dtype, a rank mismatch, or no active WebGPU backend
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-webgpu";
 * import { TfjsAdagrad, tfjsIndexedSlices } from "@webgpu-adagrad/core/tfjs";
 *
 * await tf.setBackend("webgpu");
 * const table = tf.variable(tf.zeros([1000, 8]), true, "embedding");
 * const opt = new TfjsAdagrad({ learningRate: 0.1 });
 * const rows = tf.ones([3, 8]);
 * const ids = tf.tensor1d([12, 7, 12], "int32");
 * opt.applyGradients({ embedding: tfjsIndexedSlices(rows, ids, table.shape) });
 * tf.dispose([rows, ids]);
 * opt.dispose();
 * ```
 */
export function tfjsIndexedSlices(
  values: TfjsTensor,
  indices: TfjsTensor,
  denseShape: readonly number[],
): IndexedSlices {
  if (!(values instanceof tf.Tensor) || values.dtype !== "float32") {
    throw new TypeError(`tfjsIndexedSlices: values must be a float32 tf.Tensor`);
  }
  if (!(indices instanceof tf.Tensor) || indices.dtype !== "int32" || indices.rank !== 1) {
    throw new TypeError(`tfjsIndexedSlices: indices must be a 1-D int32 tf.Tensor`);
  }
  if (values.shape[0] !== indices.size) {
    throw new TypeError(
      `tfjsIndexedSlices: values has ${values.shape[0]} rows but indices ${indices.size} ids`,
    );
  }
  const backend = activeWebGpuBackend("tfjsIndexedSlices");
  const valueBuffer = variableBuffer(backend, values);
  const indexBuffer = variableBuffer(backend, indices);
  return new IndexedSlices(
    { buffer: valueBuffer, offset: 0, size: Math.max(4, values.size * 4) },
    { buffer: indexBuffer, offset: 0, size: Math.max(4, indices.size * 4) },
    denseShape,
  );
}
