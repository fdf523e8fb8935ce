import type { TfjsTensor } from "./_types.ts";

/**
 * TF.js's `NamedTensor` (not exported by `@tensorflow/tfjs-core`): a tensor and its name, as
 * `getWeights()` returns and `setWeights()` takes them.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import type { TfjsNamedTensor } from "@webgpu-adagrad/core/tfjs";
 *
 * const iter: TfjsNamedTensor = { name: "iter", tensor: tf.scalar(0, "int32") };
 * console.log(iter.name); // "iter"
 * ```
 */
export interface TfjsNamedTensor {
  /** The weight's name, e.g. `"iter"` or `"dense_Dense1/kernel/accumulator"`. */
  name: string;
  /** Its value. */
  tensor: TfjsTensor;
}
