/**
 * The training page's settings, from its form or its URL (the same names in both:
 * `?epochs=1&limit=600&autostart=1`, `?optimizer=proximal&l1=0.0001`). Pure, so that a test checks
 * the bad-input messages.
 *
 * @module
 */
import { choiceProblems, type OptimizerKind, OPTIMIZERS } from "../spam_optimizer.ts";

/** What the page trains with. */
export interface PageSettings {
  learningRate: number;
  batch: number;
  epochs: number;
  /** Clip each gradient to this L2 norm; undefined: no clipping. */
  clipnorm?: number;
  /** Keras 3 / TF.js's `sqrt(accum + epsilon)` instead of Keras 2's `sqrt(accum) + epsilon`. */
  epsilonInsideSqrt: boolean;
  /** The CLI demo's `--optimizer`: Adagrad, RowWiseAdagrad, ProximalAdagrad or AdagradDA. */
  optimizer: OptimizerKind;
  /** L1 and L2 strengths of `proximal` and `adagrad-da`; undefined: 0. */
  l1?: number;
  l2?: number;
  /** Use the first `limit` messages of the seeded shuffle; undefined: all 6,046. */
  limit?: number;
  /** Chart (and report progress) every this many batches. */
  chartEvery: number;
  /** Start training as soon as the page has loaded. */
  autostart: boolean;
}

/** The CLI demo's defaults (`deno task demo`). */
export const DEFAULTS: PageSettings = {
  learningRate: 0.2,
  batch: 64,
  epochs: 4,
  epsilonInsideSqrt: false,
  optimizer: "adagrad",
  chartEvery: 4,
  autostart: false,
};

/** The names the form and the URL use. */
export const FIELDS = [
  "lr",
  "batch",
  "epochs",
  "clipnorm",
  "epsilon",
  "optimizer",
  "l1",
  "l2",
  "limit",
  "chart",
  "autostart",
] as const;

/** The settings in `params`, defaults for what is absent; `errors` says what could not be read. */
export function readSettings(
  params: URLSearchParams,
): { settings: PageSettings; errors: string[] } {
  const errors: string[] = [];
  const settings = { ...DEFAULTS };
  const unknown = [...params.keys()].filter((k) => !(FIELDS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    errors.push(`unknown setting ${unknown.map((k) => `'${k}'`).join(", ")}; known: ${FIELDS}`);
  }
  const text = (name: string) => {
    const value = params.get(name)?.trim();
    return value === undefined || value === "" ? undefined : value;
  };
  const number = (name: string, what: string, integer: boolean, max = Infinity, zero = false) => {
    const raw = text(name);
    if (raw === undefined) return undefined;
    const value = Number(raw);
    if (
      !Number.isFinite(value) || value < 0 || (value === 0 && !zero) ||
      (integer && !Number.isInteger(value))
    ) {
      const sign = zero ? "non-negative" : "positive";
      errors.push(`${what} must be a ${sign} ${integer ? "integer" : "number"}, got '${raw}'`);
      return undefined;
    }
    if (value > max) {
      errors.push(`${what} must be at most ${max}, got ${value}`);
      return undefined;
    }
    return value;
  };
  const choice = (name: string, what: string, options: string[]) => {
    const raw = text(name);
    if (raw !== undefined && !options.includes(raw)) {
      const quoted = options.map((o) => `'${o}'`);
      const list = quoted.length > 2 ? `one of ${quoted.join(", ")}` : quoted.join(" or ");
      errors.push(`${what} must be ${list}, got '${raw}'`);
      return undefined;
    }
    return raw;
  };
  settings.learningRate = number("lr", "learning rate", false) ?? settings.learningRate;
  settings.batch = number("batch", "batch", true, 4096) ?? settings.batch;
  settings.epochs = number("epochs", "epochs", true) ?? settings.epochs;
  const clipnorm = number("clipnorm", "clipnorm", false);
  if (clipnorm !== undefined) settings.clipnorm = clipnorm;
  const limit = number("limit", "limit", true);
  if (limit !== undefined && limit < 10) {
    errors.push(`limit must be at least 10 messages, got ${limit}`);
  } else if (limit !== undefined) settings.limit = limit;
  settings.chartEvery = number("chart", "chart every", true) ?? settings.chartEvery;
  settings.epsilonInsideSqrt = choice("epsilon", "epsilon", ["outside", "inside"]) === "inside";
  settings.optimizer = (choice("optimizer", "optimizer", [...OPTIMIZERS]) as OptimizerKind) ??
    settings.optimizer;
  for (const name of ["l1", "l2"] as const) {
    const strength = number(name, name, false, Infinity, true);
    if (strength !== undefined) settings[name] = strength;
  }
  // Settings that are each fine but do not go together (an L1 for plain Adagrad, ...).
  errors.push(...choiceProblems(settings));
  settings.autostart = ["1", "true", "on"].includes(text("autostart") ?? "");
  return { settings, errors };
}
