// Scaling and unscaling under a LossScaleOptimizer: a step's `scaled` option (gradients of the
// scaled loss, unscaled in the update kernels), and Keras's get_scaled_loss and
// get_unscaled_gradients for values on the CPU, each given the scale's reader.
import { describe } from "../_common/validate.ts";

/**
 * Options of one {@linkcode LossScaleOptimizer.applyGradients} call.
 *
 * @example
 * ```ts
 * import type { ApplyScaledOptions } from "@webgpu-adagrad/core";
 *
 * const fused: ApplyScaledOptions = { scaled: true };
 * ```
 */
export interface ApplyScaledOptions {
  /**
   * `true`: the gradients are those of the *scaled* loss, as a backward pass that multiplied its
   * loss gradient by {@linkcode LossScaleOptimizer.scaleBinding} leaves them; the update kernels
   * unscale them in the same pass (Keras's `get_unscaled_gradients`, fused). `false` (default):
   * they are already unscaled, as Keras's `apply_gradients` takes them.
   */
  scaled?: boolean;
}

/** Checks a call's {@linkcode ApplyScaledOptions}; returns its `scaled`. */
export function checkApplyOptions(options: unknown): boolean {
  if (options === undefined) return false;
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`LossScaleOptimizer: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (key !== "scaled") throw new TypeError(`LossScaleOptimizer: unknown option '${key}'`);
  }
  const scaled = (options as ApplyScaledOptions).scaled ?? false;
  if (typeof scaled !== "boolean") {
    throw new TypeError(`LossScaleOptimizer: scaled must be a boolean, got ${describe(scaled)}`);
  }
  return scaled;
}

/** `loss * scale` in float32, `lossScale` read once `loss` is checked. */
export async function scaledLoss(loss: number, lossScale: () => Promise<number>): Promise<number> {
  if (typeof loss !== "number") {
    throw new TypeError(`getScaledLoss: loss must be a number, got ${describe(loss)}`);
  }
  return Math.fround(Math.fround(loss) * await lossScale());
}

/**
 * Each gradient times the float32 reciprocal of the scale, in float32 (`null` and `undefined`
 * kept), `lossScale` read once `grads` are checked.
 */
export async function unscaledGradients<T extends Float32Array | null | undefined>(
  grads: readonly T[],
  lossScale: () => Promise<number>,
): Promise<T[]> {
  if (!Array.isArray(grads)) {
    throw new TypeError(`getUnscaledGradients: expected an array, got ${describe(grads)}`);
  }
  grads.forEach((g, i) => {
    if (g !== null && g !== undefined && !(g instanceof Float32Array)) {
      throw new TypeError(
        `getUnscaledGradients: gradient ${i} must be a Float32Array, null or undefined, got ` +
          describe(g),
      );
    }
  });
  const reciprocal = Math.fround(1 / await lossScale());
  // Float32Array stores round each product to float32, as Keras's float32 multiply does.
  return grads.map((g) => g ? Float32Array.from(g as Float32Array, (x) => x * reciprocal) as T : g);
}
