// A LossScaleOptimizer's options (Keras's arguments in camelCase) and their checks: the settings a
// scale starts from, with Keras's defaults, and the values setLossScale may give it later.
import { describe } from "../_common/validate.ts";
import { AdagradBase } from "./adagrad_base.ts";
import { CLASS_NAMES } from "./registry.ts";
import type { AdagradConfig } from "../rules/keras2.ts";

/** Keras's defaults for a dynamic scale. */
const DEFAULT_INITIAL_SCALE = 2 ** 15;
const DEFAULT_GROWTH_STEPS = 2000;

/**
 * Options of {@linkcode LossScaleOptimizer}: Keras's arguments in camelCase.
 *
 * @example
 * ```ts
 * import type { LossScaleOptions } from "@webgpu-adagrad/core";
 *
 * const fixed: LossScaleOptions = { dynamic: false, initialScale: 1024 };
 * ```
 */
export interface LossScaleOptions {
  /** Keras `dynamic`: whether the scale adapts (default `true`). */
  dynamic?: boolean;
  /**
   * Keras `initial_scale`: the starting scale; 2**15 by default when dynamic, required when not.
   */
  initialScale?: number;
  /**
   * Keras `dynamic_growth_steps`: finite steps in a row after which a dynamic scale doubles
   * (default 2000); must be left out when the scale is fixed.
   */
  dynamicGrowthSteps?: number;
}

/** The options checked, with Keras's defaults: what a LossScaleOptimizer keeps. */
export interface LossScaleSettings {
  readonly dynamic: boolean;
  readonly initialScale: number;
  /** `undefined` for a fixed scale (Keras's `None`). */
  readonly dynamicGrowthSteps: number | undefined;
}

/**
 * Checks that `inner` is an optimizer of this package and that `options` suit a scale around it;
 * returns the settings, with Keras's defaults filled in.
 */
export function lossScaleSettings(inner: unknown, options: unknown): LossScaleSettings {
  if (!(inner instanceof AdagradBase)) {
    throw new TypeError(
      `LossScaleOptimizer: innerOptimizer must be an optimizer of this package (` +
        `${CLASS_NAMES.join(", ")}), got ${describe(inner)}`,
    );
  }
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `LossScaleOptimizer: options must be an object, got ${describe(options)}`,
    );
  }
  for (const key of Object.keys(options)) {
    if (!["dynamic", "initialScale", "dynamicGrowthSteps"].includes(key)) {
      throw new TypeError(`LossScaleOptimizer: unknown option '${key}'`);
    }
  }
  const { dynamic = true, initialScale, dynamicGrowthSteps } = options as LossScaleOptions;
  if (typeof dynamic !== "boolean") {
    throw new TypeError(
      `LossScaleOptimizer: dynamic must be a boolean, got ${describe(dynamic)}`,
    );
  }
  if (!dynamic) {
    if (initialScale === undefined) {
      throw new RangeError("LossScaleOptimizer: initialScale must be given if dynamic is false");
    }
    if (dynamicGrowthSteps !== undefined) {
      throw new RangeError(
        `LossScaleOptimizer: dynamicGrowthSteps must be left out if dynamic is false, got ` +
          describe(dynamicGrowthSteps),
      );
    }
    return {
      dynamic,
      initialScale: positiveNumber(initialScale, "initialScale"),
      dynamicGrowthSteps: undefined,
    };
  }
  const scale = initialScale === undefined
    ? DEFAULT_INITIAL_SCALE
    : positiveNumber(initialScale, "initialScale");
  const steps = dynamicGrowthSteps ?? DEFAULT_GROWTH_STEPS;
  if (!Number.isSafeInteger(steps) || steps < 1 || steps > 0xffffffff) {
    throw new RangeError(
      `dynamicGrowthSteps must be an integer from 1 to 2**32 - 1, got ${describe(steps)}`,
    );
  }
  if ((inner.getConfig() as Partial<AdagradConfig>).skip_non_finite) {
    throw new RangeError(
      `LossScaleOptimizer: optimizer '${inner.name}' has skipNonFinite, and a ` +
        `dynamic loss scale skips non-finite steps itself; turn one of them off`,
    );
  }
  return { dynamic, initialScale: scale, dynamicGrowthSteps: steps };
}

/**
 * Checks what `setLossScale(scale, goodSteps)` would set on a scale that starts at `initialScale`:
 * a fixed one (not `dynamic`) keeps that scale and a zero counter.
 */
export function checkScaleState(
  scale: number,
  goodSteps: number,
  dynamic: boolean,
  initialScale: number,
): void {
  positiveNumber(scale, "scale");
  if (!Number.isSafeInteger(goodSteps) || goodSteps < 0 || goodSteps > 0xffffffff) {
    throw new RangeError(`goodSteps must be a non-negative integer, got ${describe(goodSteps)}`);
  }
  if (!dynamic && (scale !== initialScale || goodSteps !== 0)) {
    throw new RangeError(`LossScaleOptimizer: a fixed scale stays ${initialScale}, got ${scale}`);
  }
}

/** A scale: a number whose float32 value (the GPU's) is finite and positive. */
function positiveNumber(x: unknown, what: string): number {
  if (typeof x !== "number") throw new TypeError(`${what} must be a number, got ${describe(x)}`);
  const f = Math.fround(x);
  if (!Number.isFinite(f) || f <= 0) {
    throw new RangeError(`${what} must be a finite number > 0 in float32, got ${x}`);
  }
  return x;
}
