// What `applyGradients` takes: gradients, and [gradient, variable] pairs.
import type { BufferRegion } from "../memory/buffer_region.ts";
import type { GpuBinding, VariableRef } from "../memory/gpu_binding.ts";
import type { VariableWindow } from "../memory/variable.ts";
import type { IndexedSlices } from "../sparse/indexed_slices.ts";

/**
 * A gradient handed to {@linkcode Adagrad.applyGradients}:
 * - a `Float32Array` of the variable's size (uploaded into the variable's gradient region;
 *   rounded to float16 for a store made with `gradDtype: "float16"`);
 * - for such a store, 16-bit float data: a `Float16Array`, or a `Uint16Array` of half bits;
 * - the variable's own `grad` region (used in place, no copy);
 * - the variable's own `windows` (the same array): their `grad` regions, used in place; the way
 *   to hand a variable past one binding its gradient from your own shaders, and the same as `grad`
 *   for any other variable (one window);
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
  | readonly VariableWindow[]
  | BufferRegion
  | GpuBinding
  | GPUBuffer
  | null
  | undefined;

/**
 * `[gradient, variable]`, in Keras's `zip(grads, vars)` order.
 *
 * @example
 * ```ts ignore
 * const pairs: GradientPair[] = [[w.grad, w], [null, frozen]];
 * ```
 */
export type GradientPair = readonly [Gradient, VariableRef];
