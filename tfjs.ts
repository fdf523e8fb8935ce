/**
 * TensorFlow.js models trained with this package's Adagrad: {@linkcode TfjsAdagrad} is a
 * `tf.Optimizer` for `model.compile`, `model.fit`, `minimize` and `applyGradients` on TF.js's
 * WebGPU backend; one fused step over every variable, in place, per call. Needs the peer
 * dependencies `@tensorflow/tfjs-core` and `@tensorflow/tfjs-backend-webgpu` (4.x).
 *
 * On Node, TF.js's WebGPU backend registers itself only if `navigator.gpu` exists when it is
 * imported: make `import "webgpu-adagrad/node";` (JSR: `@webgpu-adagrad/core/node`) the first
 * import of the module, before TF.js's.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-webgpu";
 * import { TfjsAdagrad } from "@webgpu-adagrad/core/tfjs";
 *
 * await tf.setBackend("webgpu");
 * const x = tf.variable(tf.scalar(3), true, "x");
 * const opt = new TfjsAdagrad({ learningRate: 0.5 });
 * for (let i = 0; i < 10; i++) opt.minimize(() => tf.square(x));
 * console.log((await x.data())[0]); // closer to 0 (dataSync() needs a browser canvas)
 * opt.dispose();
 * ```
 *
 * @module
 */
export {
  TfjsAdagrad,
  type TfjsAdagradOptions,
  type TfjsGradient,
} from "./src/tfjs/tfjs_adagrad.ts";
export type { TfjsNamedTensor } from "./src/tfjs/named_tensor.ts";
export { useDeviceForTfjs } from "./src/tfjs/tfjs_device.ts";
export { tfjsIndexedSlices } from "./src/tfjs/tfjs_indexed_slices.ts";
export type { TfjsConfigDict } from "./src/tfjs/tfjs_adagrad.ts";
/**
 * TF.js's `tf.Optimizer`, the base class of TfjsAdagrad: named here only so that the docs'
 * checks accept a base class from another package (see src/tfjs/_types.ts).
 *
 * @ignore
 */
export { TfjsOptimizerBase } from "./src/tfjs/_types.ts";
// The whole core API as well: the types TfjsAdagrad's own refer to (Adagrad, IndexedSlices,
// schedules, ...), documented with this entry point, and one import for TF.js users.
export * from "./mod.ts";
