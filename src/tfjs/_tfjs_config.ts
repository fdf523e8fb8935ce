// TfjsAdagrad's config, to and from: the wrapped optimizer's config plus what picks its class and
// rule, and back through the rule's entry in src/optimizers/registry.ts.
import type * as tf from "@tensorflow/tfjs-core";
import type { AdagradBase } from "../optimizers/adagrad_base.ts";
import { REGISTRY } from "../optimizers/registry.ts";
import { RowWiseAdagrad } from "../optimizers/row_wise_adagrad.ts";
import type { TfjsConfig } from "./_types.ts";

/**
 * The config of `inner`: its rule's keys, plus `row_wise` for the row-wise optimizer, or `rule`
 * for any rule but Keras 2's.
 */
export function tfjsConfig(inner: AdagradBase<object>): TfjsConfig {
  const config = inner.getConfig() as unknown as tf.serialization.ConfigDict;
  if (inner instanceof RowWiseAdagrad) return { ...config, row_wise: true };
  return inner.rule === "keras2" ? { ...config } : { ...config, rule: inner.rule };
}

/**
 * The optimizer a config describes, in Keras's snake_case or in the camelCase TF.js's model
 * loader turns it into.
 */
export function optimizerFromConfig(config: TfjsConfig): AdagradBase<object> {
  // tfjs-layers' loader adds `customObjects` to every config it deserializes.
  const { row_wise, rowWise, learningRate, learning_rate, customObjects: _, rule, ...rest } =
    config as Record<string, unknown>;
  const rw = row_wise ?? rowWise ?? false;
  if (typeof rw !== "boolean") {
    throw new TypeError(`TfjsAdagrad.fromConfig: row_wise must be a boolean, got ${String(rw)}`);
  }
  // The rule's entry (row-wise Adagrad's class for `row_wise`): its own fromConfig takes the
  // framework's snake_case keys, which the loader may have camelCased.
  const entry = rw
    ? REGISTRY.find((r) => r.className === "RowWiseAdagrad")
    : REGISTRY.find((r) => r.rule.id === (rule ?? "keras2"));
  if (!entry || (rw && rule !== undefined && rule !== entry.rule.id)) {
    throw new TypeError(
      `TfjsAdagrad.fromConfig: unknown rule ${String(rule)} (the rules: ${
        [...new Set(REGISTRY.map((r) => r.rule.id))].join(", ")
      })`,
    );
  }
  const keys = Object.fromEntries(Object.entries(rest).map(([k, v]) => [snake(k), v]));
  // The learning rate under the rule's own key, whichever spelling the config has (`lr` first,
  // as Keras's from_config pops it into `learning_rate`).
  const lr = keys.lr ?? learning_rate ?? learningRate;
  if (lr !== undefined) {
    delete keys.lr;
    keys[entry.rule.learningRateKey ?? "learning_rate"] = pythonicSchedule(lr);
  }
  return entry.fromConfig(keys);
}

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * A learning rate from a config: a number, or a schedule as `{ class_name, config }`. TF.js's model
 * loader camel-cases every key of a saved config (`className`, `initialLearningRate`); this puts
 * Keras's keys back.
 */
function pythonicSchedule(lr: unknown): unknown {
  if (typeof lr !== "object" || lr === null) return lr;
  const { className, class_name, config } = lr as Record<string, unknown>;
  const inner = typeof config === "object" && config !== null
    ? Object.fromEntries(
      Object.entries(config).map(([k, v]) => [k === "name" ? k : snake(k), v]),
    )
    : config;
  return { class_name: class_name ?? className, config: inner };
}
