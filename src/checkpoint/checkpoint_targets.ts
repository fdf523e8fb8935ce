import type { AdagradBase } from "../optimizers/adagrad_base.ts";
import type { LossScaleOptimizer } from "../optimizers/loss_scale_optimizer.ts";
import type { Variable } from "../memory/variable.ts";

/**
 * The format name written to a checkpoint's metadata (`format`); a restore refuses a file
 * without it.
 *
 * @example
 * ```ts
 * import { CHECKPOINT_FORMAT } from "@webgpu-adagrad/core";
 *
 * console.log(CHECKPOINT_FORMAT); // "webgpu-adagrad/1"
 * ```
 */
export const CHECKPOINT_FORMAT = "webgpu-adagrad/1";

/**
 * What a checkpoint holds: variables, and optionally an optimizer's state.
 *
 * @example
 * ```ts ignore
 * const targets: CheckpointTargets = { variables: store.variables, optimizer: opt };
 * await saveCheckpointFile("run.safetensors", targets);
 * ```
 */
export interface CheckpointTargets {
  /** Store variables, saved under their names (`"dense/kernel"`). */
  variables: readonly Variable[];
  /**
   * The optimizer: its iteration count (`"<name>/iter"`, int64) and every slot and weight under
   * its Keras name (`"dense/kernel/accumulator"`); its config goes to the metadata. For a
   * {@linkcode LossScaleOptimizer}, its inner optimizer's state, and a dynamic scale's Keras
   * weights `"<name>/loss_scale/current_loss_scale"` (float32) and `".../good_steps"` (int64).
   */
  optimizer?: AdagradBase<object> | LossScaleOptimizer<object>;
}

/**
 * How a restore ({@linkcode restoreCheckpoint}, {@linkcode restoreCheckpointFile}) treats an
 * optimizer whose settings differ from the ones saved with the checkpoint.
 *
 * @example
 * ```ts
 * import type { RestoreOptions } from "@webgpu-adagrad/core";
 *
 * const options: RestoreOptions = { settings: "keep" }; // as Keras's load_weights
 * console.log(options.settings); // "keep"
 * ```
 */
export interface RestoreOptions {
  /**
   * When the optimizer's settings (its `getConfig()`, the name aside) differ from the saved ones:
   * `"refuse"` (the default) throws a TypeError naming each, before anything is written; `"keep"`
   * restores the state and keeps this optimizer's settings, as Keras's `load_weights` does. To
   * adopt the saved settings, as PyTorch's `load_state_dict` does, build the optimizer from them
   * ({@linkcode savedOptimizerConfig}) and restore into that one.
   */
  settings?: "refuse" | "keep";
}
