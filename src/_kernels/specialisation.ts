// What the kernels are specialised on (WGSL `override` constants, fixed at pipeline creation),
// with the modes' names. shaders/_interface.wgsl declares the same values as WGSL `const`s
// (NORM_*, LOSS_SCALE_*, ROW_DECAY_*; PHASE_* in adagrad_dense.wgsl; RULE_* in the generated
// `_rules.wgsl`); tests/kernels/shader_interface_test.ts compares the two.
import { RULE_KERNELS } from "./shaders.ts";
import { FormatMode } from "../_common/number_format.ts";

/** `NORM_MODE`: no norm clipping, Keras `clipnorm`, Keras `global_clipnorm`. */
export const NormMode = { none: 0, clipnorm: 1, global: 2 } as const;
/** One of {@linkcode NormMode}'s values. */
export type NormMode = (typeof NormMode)[keyof typeof NormMode];

/** `LOSS_SCALE`: no LossScaleOptimizer, a fixed scale, a dynamic one. */
export const LossScaleMode = { none: 0, fixed: 1, dynamic: 2 } as const;
/** One of {@linkcode LossScaleMode}'s values. */
export type LossScaleMode = (typeof LossScaleMode)[keyof typeof LossScaleMode];

/**
 * `RULE`'s value for the rule of WGSL file `shaders/rules/<name>.wgsl`: its place among the rules'
 * files, as the generated module numbers them.
 */
export function ruleKernel(name: string): number {
  const id = RULE_KERNELS[name];
  if (id === undefined) throw new Error(`webgpu-adagrad: no shaders/rules/${name}.wgsl`);
  return id;
}

/**
 * `ROW_DECAY`: FBGEMM's weight decay of row-wise Adagrad (`WeightDecayMode`): none, `L2` (coupled
 * into the row's statistic) or `DECOUPLE`.
 */
export const RowDecayMode = { none: 0, l2: 1, decoupled: 2 } as const;
/** One of {@linkcode RowDecayMode}'s values. */
export type RowDecayMode = (typeof RowDecayMode)[keyof typeof RowDecayMode];

/**
 * `PHASE` of one dense update dispatch under gradient accumulation (adagrad_dense.wgsl): a whole
 * update, an add to the sum, or an update in two dispatches (the mean, then the step from it).
 */
export const Phase = { step: 0, add: 1, mean: 2, apply: 3 } as const;
/** One of {@linkcode Phase}'s values. */
export type Phase = (typeof Phase)[keyof typeof Phase];

/** The step's part of the specialisation; one set of kernels per distinct value. */
export interface Specialisation {
  /** The rule (`RULE`, {@linkcode ruleKernel}); the flags below are options that need code or slots. */
  rule: number;
  /** Whether the rule keeps a sum of its gradients (`RULE_SUMS`, the `gradient_sums` binding). */
  ruleSums: boolean;
  /** Whether the rule's step reads the variable (`RULE_READS_VARIABLE`). */
  ruleReadsVariable: boolean;
  /** Keras 3 `use_ema`: the `average` slot. */
  ema: boolean;
  /** Keras 3 `gradient_accumulation_steps`: the `gradient_accumulator` slot, and phases. */
  accumulate: boolean;
  epsilonInsideSqrt: boolean;
  clipValue: boolean;
  /** `skipNonFinite`: the non-finite check decides whether the step runs, and its learning rate. */
  skipNonFinite: boolean;
  normMode: NormMode;
  lossScale: LossScaleMode;
  /** Row-wise Adagrad's weight decay (FBGEMM `weight_decay_mode`). */
  rowDecay: RowDecayMode;
  /** Row-wise Adagrad's `max_norm`: updated rows renormalised to at most it. */
  maxNorm: boolean;
  /** The slots' number format (`STATE_FORMAT`: a NumberFormat's `kernel`). */
  stateFormat: number;
  /** The weights' number format (`WEIGHT_FORMAT`). */
  weightFormat: number;
}

/** Keras 2's rule with no option on: what each specialisation changes from. */
export const PLAIN_SPECIALISATION: Readonly<Specialisation> = Object.freeze({
  rule: ruleKernel("keras2"),
  ruleSums: false,
  ruleReadsVariable: true,
  ema: false,
  accumulate: false,
  epsilonInsideSqrt: false,
  clipValue: false,
  skipNonFinite: false,
  normMode: NormMode.none,
  lossScale: LossScaleMode.none,
  rowDecay: RowDecayMode.none,
  maxNorm: false,
  stateFormat: FormatMode.float32,
  weightFormat: FormatMode.float32,
});

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
