// Every rule with the class that runs it and how to build one from options or a config: the one
// list that LossScaleOptimizer, TfjsAdagrad and checkpoints read to rebuild an optimizer. A new
// rule is one line here (docs/development.md, "Adding a rule").
import type { AdagradBase } from "./adagrad_base.ts";
import { Adagrad } from "./adagrad.ts";
import { AdagradDA } from "./adagrad_da.ts";
import { ProximalAdagrad } from "./proximal_adagrad.ts";
import { RowWiseAdagrad } from "./row_wise_adagrad.ts";
import { ADAGRAD_DA } from "../rules/adagrad_da.ts";
import { type AdagradOptions, KERAS2 } from "../rules/keras2.ts";
import { KERAS3 } from "../rules/keras3.ts";
import { OPTAX } from "../rules/optax.ts";
import { PROXIMAL } from "../rules/proximal.ts";
import { ROW_WISE_RULE } from "../rules/row_wise.ts";
import type { Rule } from "../rules/rule.ts";
import { TORCH } from "../rules/torch.ts";
import { describe } from "../_common/validate.ts";

/** A rule, its class, and how to build one. */
export interface RegisteredRule {
  readonly rule: Rule<RuleId>;
  /** The class configs and checkpoints name (`class_name`, `optimizer_class`). */
  readonly className: string;
  /** The static factory that rebuilds one from a config, for messages (`keras3FromConfig`). */
  readonly fromConfigName: string;
  fromConfig(config: Record<string, unknown>): AdagradBase<object>;
  /** Builds one from options, as the class's constructor or factory takes them. */
  create(options: Record<string, unknown>): AdagradBase<object>;
}

// A class's first entry is its default rule: a config names the rule only when it is another.
const ENTRIES: readonly RegisteredRule[] = [
  {
    rule: KERAS2,
    className: "Adagrad",
    fromConfigName: "fromConfig",
    fromConfig: (c) => Adagrad.fromConfig(c),
    create: (o) => new Adagrad(o as AdagradOptions),
  },
  {
    rule: KERAS3,
    className: "Adagrad",
    fromConfigName: "keras3FromConfig",
    fromConfig: (c) => Adagrad.keras3FromConfig(c),
    create: (o) => Adagrad.keras3(o),
  },
  {
    rule: TORCH,
    className: "Adagrad",
    fromConfigName: "torchFromConfig",
    fromConfig: (c) => Adagrad.torchFromConfig(c),
    create: (o) => Adagrad.torch(o),
  },
  {
    rule: OPTAX,
    className: "Adagrad",
    fromConfigName: "optaxFromConfig",
    fromConfig: (c) => Adagrad.optaxFromConfig(c),
    create: (o) => Adagrad.optax(o as never),
  },
  {
    rule: ROW_WISE_RULE,
    className: "RowWiseAdagrad",
    fromConfigName: "fromConfig",
    fromConfig: (c) => RowWiseAdagrad.fromConfig(c),
    create: (o) => new RowWiseAdagrad(o),
  },
  {
    rule: PROXIMAL,
    className: "ProximalAdagrad",
    fromConfigName: "fromConfig",
    fromConfig: (c) => ProximalAdagrad.fromConfig(c),
    create: (o) =>
      new ProximalAdagrad(o as unknown as ConstructorParameters<typeof ProximalAdagrad>[0]),
  },
  {
    rule: ADAGRAD_DA,
    className: "AdagradDA",
    fromConfigName: "fromConfig",
    fromConfig: (c) => AdagradDA.fromConfig(c),
    create: (o) => new AdagradDA(o as unknown as ConstructorParameters<typeof AdagradDA>[0]),
  },
];

/** Every rule of the package, with its class. */
export const REGISTRY: readonly RegisteredRule[] = ENTRIES;

/**
 * Which framework's Adagrad an optimizer follows (`opt.rule`): Keras 2's (`"keras2"`, also
 * {@linkcode RowWiseAdagrad}'s), Keras 3's, PyTorch's, optax's, and TensorFlow's proximal
 * Adagrads'. Each registered rule's id is one (its entry's type says so).
 */
export type RuleId = "keras2" | "keras3" | "torch" | "optax" | "proximal" | "adagradDA";

/** The classes' names, for messages. */
export const CLASS_NAMES: readonly string[] = [...new Set(REGISTRY.map((r) => r.className))];

/** Whether `rule` is its class's default (a config leaves it out). */
export function isDefaultRule(className: string, rule: string): boolean {
  return REGISTRY.find((r) => r.className === className)?.rule.id === rule;
}

/**
 * The entry of class `className` with rule `rule` (the class's default when absent); `caller`
 * names the API for the TypeError when there is none.
 */
export function registeredRule(
  className: unknown,
  rule: unknown,
  caller: string,
  what = "optimizer class",
): RegisteredRule {
  const entries = REGISTRY.filter((r) => r.className === className);
  if (entries.length === 0) {
    throw new TypeError(
      `${caller}: unknown ${what} ${quoted(className)} (this package's are ` +
        `${CLASS_NAMES.join(", ")})`,
    );
  }
  if (rule === undefined) return entries[0];
  const entry = entries.find((r) => r.rule.id === rule);
  if (!entry) {
    throw new TypeError(
      `${caller}: unknown rule ${quoted(rule)} for class '${className}' (its rules: ${
        entries.map((r) => r.rule.id).join(", ")
      })`,
    );
  }
  return entry;
}

/** A name as messages quote it: a string in single quotes, anything else described. */
function quoted(x: unknown): string {
  return typeof x === "string" ? `'${x}'` : describe(x);
}
