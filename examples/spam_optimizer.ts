/**
 * Which optimizer the spam classifier trains with, runtime-neutral: the CLI demo's `--optimizer`,
 * `--l1` and `--l2` and the browser page's `optimizer`, `l1` and `l2` settings read the same
 * choice, refuse the same combinations with the same words, and build the optimizer here.
 *
 * @module
 */
import { Adagrad, type AdagradBase, AdagradDA, ProximalAdagrad, RowWiseAdagrad } from "../mod.ts";

/**
 * The choices, by their CLI and URL names: Keras's `Adagrad`, FBGEMM's `RowWiseAdagrad`, TF's
 * `ProximalAdagrad` and TF's `AdagradDA`. The last two take L1 and L2 strengths; L1 sets weights
 * to exactly zero.
 */
export const OPTIMIZERS = ["adagrad", "rowwise", "proximal", "adagrad-da"] as const;

/** One of {@linkcode OPTIMIZERS}. */
export type OptimizerKind = typeof OPTIMIZERS[number];

/** The optimizer and the settings it is built from. */
export interface OptimizerChoice {
  /** Default `"adagrad"`. */
  optimizer?: OptimizerKind;
  learningRate: number;
  clipnorm?: number;
  /** `var -= lr * g / sqrt(accum + epsilon)` (Keras 3, TF.js): Adagrad and RowWiseAdagrad only. */
  epsilonInsideSqrt?: boolean;
  /** TF's `l1_regularization_strength`: proximal and adagrad-da only. Default 0. */
  l1?: number;
  /** TF's `l2_regularization_strength`: proximal and adagrad-da only. Default 0. */
  l2?: number;
  /** float16 gradients behind a dynamic LossScaleOptimizer (the trainer wraps the optimizer). */
  mixedPrecision?: boolean;
}

const REGULARIZED: readonly OptimizerKind[] = ["proximal", "adagrad-da"];

/** Whether `kind` takes `l1` and `l2` (TF's proximal family). */
export function isRegularized(kind: OptimizerKind | undefined): boolean {
  return REGULARIZED.includes(kind ?? "adagrad");
}

/**
 * What does not go together in `c`, one message each (empty when it can be built). Settings of
 * another optimizer are refused rather than ignored, so that an L1 typed with the wrong optimizer
 * does not train silently without it.
 */
export function choiceProblems(c: OptimizerChoice): string[] {
  const kind = c.optimizer ?? "adagrad";
  const problems: string[] = [];
  for (const [name, value] of [["l1", c.l1], ["l2", c.l2]] as const) {
    if (value !== undefined && !isRegularized(kind)) {
      problems.push(`${name} needs optimizer 'proximal' or 'adagrad-da', not '${kind}'`);
    }
  }
  if (c.epsilonInsideSqrt && isRegularized(kind)) {
    // TF's proximal kernels have no epsilon at all: there is no rule to choose.
    problems.push(`epsilon inside the square root is not an option of '${kind}' (it has none)`);
  }
  if (c.mixedPrecision && kind === "rowwise") {
    problems.push(
      "mixed precision does not go with 'rowwise' (its kernel reads float32 gradients)",
    );
  }
  if (c.mixedPrecision && kind === "adagrad-da") {
    // AdagradDA counts T on the CPU; a dynamic loss scale skips steps on the GPU.
    problems.push("mixed precision does not go with 'adagrad-da' (no dynamic loss scale)");
  }
  return problems;
}

/**
 * Builds the chosen optimizer.
 *
 * @throws {TypeError} with {@linkcode choiceProblems}'s messages when the choice is refused
 */
export function createOptimizer(c: OptimizerChoice): AdagradBase {
  const problems = choiceProblems(c);
  if (problems.length > 0) throw new TypeError(problems.join("; "));
  const clip = c.clipnorm ? { clipnorm: c.clipnorm } : {};
  const strengths = { l1RegularizationStrength: c.l1 ?? 0, l2RegularizationStrength: c.l2 ?? 0 };
  switch (c.optimizer ?? "adagrad") {
    case "proximal":
      return new ProximalAdagrad({ learningRate: c.learningRate, ...clip, ...strengths });
    case "adagrad-da":
      return new AdagradDA({ learningRate: c.learningRate, ...clip, ...strengths });
    case "rowwise":
    case "adagrad": {
      const Optimizer = c.optimizer === "rowwise" ? RowWiseAdagrad : Adagrad;
      return new Optimizer({
        learningRate: c.learningRate,
        ...clip,
        ...(c.epsilonInsideSqrt ? { epsilonInsideSqrt: true } : {}),
      });
    }
  }
}

const CLASS_NAMES: Record<OptimizerKind, string> = {
  adagrad: "Adagrad",
  rowwise: "RowWiseAdagrad",
  proximal: "ProximalAdagrad",
  "adagrad-da": "AdagradDA",
};

/**
 * The optimizer's class name and its rule's options, then `more` (the page's model line):
 * `ProximalAdagrad (l1 0.0001, l2 0, learning rate 0.2)`.
 */
export function describeChoice(c: OptimizerChoice, more: string[] = []): string {
  const kind = c.optimizer ?? "adagrad";
  const rule = isRegularized(kind)
    ? `l1 ${c.l1 ?? 0}, l2 ${c.l2 ?? 0}`
    : `epsilon ${c.epsilonInsideSqrt ? "inside" : "outside"} the square root`;
  // A table, not constructor.name: bundlers rename classes.
  return `${CLASS_NAMES[kind]} (${[rule, ...more].join(", ")})`;
}
