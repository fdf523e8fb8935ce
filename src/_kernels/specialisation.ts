// What the kernels are specialised on (WGSL `override` constants, fixed at pipeline creation),
// with the modes' names. The prelude declares the same values as WGSL `const`s (NORM_*,
// LOSS_SCALE_*); tests/shader_interface_test.ts compares the two.

/** `NORM_MODE`: no norm clipping, Keras `clipnorm`, Keras `global_clipnorm`. */
export const NormMode = { none: 0, clipnorm: 1, global: 2 } as const;
/** One of {@linkcode NormMode}'s values. */
export type NormMode = (typeof NormMode)[keyof typeof NormMode];

/** `LOSS_SCALE`: no LossScaleOptimizer, a fixed scale, a dynamic one. */
export const LossScaleMode = { none: 0, fixed: 1, dynamic: 2 } as const;
/** One of {@linkcode LossScaleMode}'s values. */
export type LossScaleMode = (typeof LossScaleMode)[keyof typeof LossScaleMode];

/** The step's part of the specialisation; one set of kernels per distinct value. */
export interface Specialisation {
  epsilonInsideSqrt: boolean;
  clipValue: boolean;
  /** `skipNonFinite`: the non-finite check decides whether the step runs, and its learning rate. */
  skipNonFinite: boolean;
  normMode: NormMode;
  lossScale: LossScaleMode;
}

/**
 * How a kernel reads a group's gradients: one float32 per load, four (16-byte-aligned variables:
 * store arenas), or four float16s (a store with `gradDtype: "float16"`). Each names an entry point
 * suffix shared by the update, the sum of squares and the non-finite check.
 */
export type GradientLayout = "scalar" | "vec4" | "vec4_f16";

/** The entry point of `kernel` for `layout`, e.g. `update_vec4_f16`. */
export function entryPoint(kernel: string, layout: GradientLayout): string {
  return layout === "scalar" ? kernel : `${kernel}_${layout}`;
}

/** A cache key from every field of `spec`, so that a new field can never share kernels. */
export function specialisationKey(spec: Specialisation): string {
  return JSON.stringify(Object.entries(spec).sort(([a], [b]) => a < b ? -1 : 1));
}

/** Whether any stage checks gradients for NaN and infinity (the guard or a dynamic scale). */
export function checksFinite(spec: Specialisation): boolean {
  return spec.skipNonFinite || spec.lossScale === LossScaleMode.dynamic;
}
