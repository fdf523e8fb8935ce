// What a save and a restore both check of their targets, and the names both give an optimizer's
// tensors.
import { AdagradBase, ruleState } from "../optimizers/adagrad_base.ts";
import { CLASS_NAMES } from "../optimizers/registry.ts";
import { LossScaleOptimizer } from "../optimizers/loss_scale_optimizer.ts";
import { describe } from "../_common/validate.ts";
import { arenaOf, Variable } from "../memory/variable.ts";
import type { CheckpointTargets } from "./checkpoint_targets.ts";

/** The optimizer whose slots a checkpoint holds: a LossScaleOptimizer's inner one. */
export function innerOf(
  opt: AdagradBase<object> | LossScaleOptimizer<object> | undefined,
): AdagradBase<object> | undefined {
  return opt instanceof LossScaleOptimizer ? opt.innerOptimizer : opt;
}

/** Keras's names of a dynamic loss scale's weights, under the optimizer's name. */
export function lossScaleNames(name: string): [string, string] {
  return [`${name}/loss_scale/current_loss_scale`, `${name}/loss_scale/good_steps`];
}

/** A dynamic LossScaleOptimizer and its weights' names; a fixed scale has no weights. */
export function lossScaleTensors(
  opt: AdagradBase<object> | LossScaleOptimizer<object> | undefined,
): { optimizer: LossScaleOptimizer<object>; names: [string, string] } | null {
  if (!(opt instanceof LossScaleOptimizer) || !opt.dynamic) return null;
  return { optimizer: opt, names: lossScaleNames(opt.innerOptimizer.name) };
}

/** Throws a TypeError for targets that are not `{ variables, optimizer? }` of live variables. */
export function checkTargets(targets: CheckpointTargets, what: string): void {
  if (typeof targets !== "object" || targets === null || !Array.isArray(targets.variables)) {
    throw new TypeError(`${what}: expected { variables, optimizer? }, got ${describe(targets)}`);
  }
  const names = new Set<string>();
  for (const v of targets.variables) {
    if (!(v instanceof Variable)) {
      throw new TypeError(`${what}: variables must be store Variables, got ${describe(v)}`);
    }
    if (names.has(v.name)) throw new TypeError(`${what}: variable '${v.name}' is listed twice`);
    names.add(v.name);
    arenaOf(v).assertAlive(`${what}: variable '${v.name}'`);
  }
  const opt = targets.optimizer;
  if (opt !== undefined && !(opt instanceof AdagradBase) && !(opt instanceof LossScaleOptimizer)) {
    throw new TypeError(
      `${what}: optimizer must be an optimizer of this package (${CLASS_NAMES.join(", ")}) ` +
        `or a LossScaleOptimizer, got ${describe(opt)}`,
    );
  }
}

/**
 * Throws an Error when `optimizer` took a step since `iterations` was read: the tensors a save
 * read, or a restore wrote, since then belong to two states. (A step counts at its submit; a step
 * skipNonFinite later finds skipped lowers `iterations`, so only a rise tells.)
 */
export function assertNoStepSince(
  optimizer: AdagradBase<object> | undefined,
  calls: number,
  caller: string,
  restoring: boolean,
): void {
  // The calls, not `iterations`: Keras 3's counts only updates, and every call changes state.
  const now = optimizer ? ruleState(optimizer).calls : 0;
  if (!optimizer || now <= calls) return;
  const seen = `optimizer '${optimizer.name}' took a step while ${caller} streamed (iterations ` +
    `${calls}, then ${now})`;
  throw new Error(
    restoring
      ? `${caller}: ${seen}, so its state mixes the checkpoint's and the step's; restore again, ` +
        `and await ${caller} before the next step`
      : `${caller}: ${seen}, so the tensors read would mix two states and nothing was saved; ` +
        `await ${caller} before the next step`,
  );
}
