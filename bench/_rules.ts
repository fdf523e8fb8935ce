// The other frameworks' rules as contenders: this package's dense step under Keras 3's and
// PyTorch's rules, each timed against the Keras 2 step of the same case in the same rounds; and
// the Adagrad family's other optimizers (TF's ProximalAdagrad and AdagradDA, FBGEMM's row-wise
// options), each timed against the step it extends.
import { Adagrad, type AdagradBase, AdagradDA, ProximalAdagrad, RowWiseAdagrad } from "../mod.ts";
import { type BenchCase, fused, type Running } from "./_contenders.ts";

/** The rules' rows: what each one's optimizer is. */
export const RULE_CONTENDERS = {
  /** PyTorch with lr_decay and L2 weight decay (per-variable learning rates, the L2 term). */
  torch: () => Adagrad.torch({ lr: 0.01, lrDecay: 1e-3, weightDecay: 1e-4 }),
  /** Keras 3 with neither EMA nor accumulation: epsilon inside, the loss scale factor's divide. */
  keras3: () => Adagrad.keras3({ learningRate: 0.01 }),
  /** Keras 3 with the moving average (the average slot read and written every call). */
  ema: () => Adagrad.keras3({ learningRate: 0.01, useEma: true }),
  /**
   * A Keras 3 call that only accumulates: so many steps per update that every timed call adds its
   * gradients and nothing else.
   */
  accumulate: () => Adagrad.keras3({ learningRate: 0.01, gradientAccumulationSteps: 2 ** 30 }),
} as const satisfies Record<string, () => Adagrad<object>>;

/** The step of `c` (dense gradients written in place, or its IndexedSlices) under `make()`'s rule. */
export function ruleStep(
  device: GPUDevice,
  c: BenchCase,
  make: () => AdagradBase<object>,
): Running {
  return fused(device, c, { make });
}

// Strengths large enough to take the L1 branch (a uniform branch in the kernels: 0 skips it) and
// the L2 term; the row-wise max norm below the rows' norms (the bench's variables are uniform in
// [-0.1, 0.1), its sparse table 0.5 everywhere), so that most updated rows are scaled.
const TF = { learningRate: 0.01, l1RegularizationStrength: 1e-4, l2RegularizationStrength: 1e-4 };

/** The family's optimizers, each a contender of its own. */
export const FAMILY_CONTENDERS = {
  proximal: () => new ProximalAdagrad(TF),
  da: () => new AdagradDA(TF),
  rowWise: () => new RowWiseAdagrad({ learningRate: 0.01 }),
  rowL2: () => new RowWiseAdagrad({ learningRate: 0.01, weightDecay: 1e-4 }),
  rowDecoupled: () =>
    new RowWiseAdagrad({ learningRate: 0.01, weightDecay: 1e-4, weightDecayMode: "decoupled" }),
  rowMaxNorm: () => new RowWiseAdagrad({ learningRate: 0.01, maxNorm: 0.1 }),
} as const satisfies Record<string, () => AdagradBase<object>>;

/**
 * What a step keeps of each element, for its bytes: Adagrad's (the variable and the accumulator,
 * each read and written: 16 bytes), AdagradDA's (the gradient sum and the squared sum read and
 * written, the variable written and never read: 20) or row-wise Adagrad's (the variable read and
 * written, 8 bytes, and per row its accumulator read and written, 8).
 */
export type StateKind = "adagrad" | "da" | "rowWise";

/**
 * Bytes a step of `c` must read and write under a rule that keeps `state`, counted as the
 * ceilings count them (_ceilings.ts): a dense step's gradient (4 bytes) and state per element; a
 * sparse step's index and value row per index, and its state per distinct touched row. Only for a
 * ratio of two rules on one case: "a ceiling moves the same bytes as the step it bounds".
 */
export function familyStepBytes(c: BenchCase, state: StateKind, distinctRows = 0): number {
  const width = c.sparse?.width ?? c.width ?? 1;
  const perRow = state === "adagrad" ? 16 * width : state === "da" ? 20 * width : 8 * width + 8;
  if (c.sparse) return c.sparse.nnz * (4 + 4 * width) + distinctRows * perRow;
  const elements = c.sizes.reduce((a, b) => a + b, 0);
  return elements * 4 + (elements / width) * perRow;
}

/** A family row: its contender, label, the step it is a ratio to, its state and target. */
export interface FamilyRow {
  name: keyof typeof FAMILY_CONTENDERS;
  label: string;
  /** The contender it is timed against: Keras 2's Adagrad ("plain") or plain RowWiseAdagrad. */
  base: "plain" | "rowWise";
  state: StateKind;
  /** Its time over its base's at most; none for plain RowWiseAdagrad, shown for reference. */
  target?: number;
}

/** Issue 25: at most 1.15x the step each one extends. */
export const FAMILY_ROWS: FamilyRow[] = [
  {
    name: "proximal",
    label: "ProximalAdagrad (l1, l2)",
    base: "plain",
    state: "adagrad",
    target: 1.15,
  },
  { name: "da", label: "AdagradDA (l1, l2)", base: "plain", state: "da", target: 1.15 },
  { name: "rowWise", label: "RowWiseAdagrad", base: "plain", state: "rowWise" },
  {
    name: "rowL2",
    label: "RowWiseAdagrad, weightDecay l2",
    base: "rowWise",
    state: "rowWise",
    target: 1.15,
  },
  {
    name: "rowDecoupled",
    label: "RowWiseAdagrad, weightDecay decoupled",
    base: "rowWise",
    state: "rowWise",
    target: 1.15,
  },
  {
    name: "rowMaxNorm",
    label: "RowWiseAdagrad, maxNorm",
    base: "rowWise",
    state: "rowWise",
    target: 1.15,
  },
];
