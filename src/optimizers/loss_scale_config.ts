// A LossScaleOptimizer's config, Keras's get_config(): written from its settings and its inner
// optimizer's class, rule and config, and read back through the registry (./registry.ts), which
// rebuilds an inner optimizer of any class and rule of the package.
import { describe } from "../_common/validate.ts";
import { type AdagradBase, optimizerKind } from "./adagrad_base.ts";
import type { AdagradConfig } from "../rules/keras2.ts";
import type { LossScaleOptions, LossScaleSettings } from "./loss_scale_options.ts";
import { isDefaultRule, registeredRule, type RuleId } from "./registry.ts";

/**
 * What {@linkcode LossScaleOptimizer.getConfig} returns: Keras's `get_config()`.
 *
 * @example
 * ```ts
 * import type { LossScaleConfig } from "@webgpu-adagrad/core";
 *
 * const config: LossScaleConfig = {
 *   inner_optimizer: { class_name: "Adagrad", config: { learning_rate: 0.01 } },
 *   dynamic: true,
 *   initial_scale: 32768,
 *   dynamic_growth_steps: 2000,
 * };
 * ```
 */
export interface LossScaleConfig {
  /** The inner optimizer, serialized as Keras does: `{ class_name, config }`. */
  inner_optimizer: {
    class_name: string;
    config: Partial<AdagradConfig> | Record<string, unknown>;
    /**
     * The inner optimizer's rule when not its class's default (`"keras3"`, `"torch"`, ... for
     * Adagrad); not Keras's key.
     */
    rule?: RuleId;
  };
  /** Whether the scale adapts to overflows (Keras `dynamic`). */
  dynamic: boolean;
  /** The scale at the start (Keras `initial_scale`). */
  initial_scale: number;
  /** Keras `dynamic_growth_steps`: `null` for a fixed scale (Python's `None`). */
  dynamic_growth_steps: number | null;
}

/** The config of a scale with `settings` around `inner`. */
export function lossScaleConfig(
  inner: AdagradBase<object>,
  settings: LossScaleSettings,
): LossScaleConfig {
  const className = optimizerKind(inner).variant.optimizerClass;
  return {
    inner_optimizer: {
      class_name: className,
      config: inner.getConfig() as Record<string, unknown>,
      // A rule other than its class's default picks its factory.
      ...(isDefaultRule(className, inner.rule) ? {} : { rule: inner.rule as RuleId }),
    },
    dynamic: settings.dynamic,
    initial_scale: settings.initialScale,
    dynamic_growth_steps: settings.dynamicGrowthSteps ?? null,
  };
}

/**
 * What `config` describes: the inner optimizer, built by its class and rule's registered
 * `fromConfig`, and the options of the scale around it (checked when it is constructed).
 *
 * @throws {TypeError} for an unknown key, or an inner optimizer that is not `{ class_name, config }`
 *   of a registered class and rule
 */
export function parseLossScaleConfig(
  config: unknown,
): { inner: AdagradBase<object>; options: LossScaleOptions } {
  if (typeof config !== "object" || config === null) {
    throw new TypeError(
      `LossScaleOptimizer.fromConfig: expected an object, got ${describe(config)}`,
    );
  }
  const keys = ["inner_optimizer", "dynamic", "initial_scale", "dynamic_growth_steps"];
  for (const key of Object.keys(config)) {
    if (!keys.includes(key)) {
      throw new TypeError(`LossScaleOptimizer.fromConfig: unsupported config key '${key}'`);
    }
  }
  const c = config as Partial<LossScaleConfig>;
  const inner = c.inner_optimizer;
  if (typeof inner !== "object" || inner === null || typeof inner.class_name !== "string") {
    throw new TypeError(
      `LossScaleOptimizer.fromConfig: inner_optimizer must be { class_name, config }, got ` +
        describe(inner),
    );
  }
  const entry = registeredRule(
    inner.class_name,
    inner.rule,
    "LossScaleOptimizer.fromConfig",
    "inner optimizer class",
  );
  return {
    inner: entry.fromConfig(inner.config ?? {}),
    options: {
      dynamic: c.dynamic,
      initialScale: c.initial_scale ?? undefined,
      dynamicGrowthSteps: c.dynamic_growth_steps ?? undefined,
    },
  };
}
