import type { AdagradOptions } from "../rules/keras2.ts";
import { Adagrad } from "./adagrad.ts";
import type { Rule } from "../rules/rule.ts";
import {
  ROW_WISE_RULE,
  type RowWiseAdagradConfig,
  type RowWiseAdagradOptions,
} from "../rules/row_wise.ts";
import { ROW_WISE, type Variant } from "../_step/variant.ts";

/**
 * Row-wise Adagrad: one accumulator per row of each variable instead of one per element, for
 * embedding tables whose element-wise accumulator would not fit in memory. This is FBGEMM's
 * `EXACT_ROWWISE_ADAGRAD` (pytorch/FBGEMM `fbgemm_gpu/codegen/genscript/optimizers.py`,
 * `rowwise_adagrad()`) and TorchRec's `RowWiseAdagrad` (`torchrec/optim/rowwise_adagrad.py`); it
 * is not part of Keras. For each touched row `r` of width `D` (a variable's first dimension is its
 * rows; a rank-1 variable has rows of one element, where this is plain Adagrad):
 *
 *     g      = the row's gradient, after clipping and the sum of duplicate indices
 *     m[r]  += sum(g * g) / D
 *     var[r] -= lr_t / (sqrt(m[r]) + epsilon) * g
 *
 * FBGEMM's options, for the rows updated this step (every row for a dense gradient):
 *
 *     weightDecayMode "l2":        m[r] += mean((g + wd * var[r])^2);
 *                                  var[r] = (1 - mult * wd) * var[r] - mult * g
 *     weightDecayMode "decoupled": var[r] = (1 - lr_t * wd) * var[r] - mult * g
 *     maxNorm:                     var[r] *= maxNorm / |var[r]|  where |var[r]| > maxNorm
 *
 * with `mult = lr_t / (sqrt(m[r]) + epsilon)`.
 *
 * Everything else is {@linkcode Adagrad}'s: the options and their Keras defaults (FBGEMM uses
 * epsilon 1e-8 and an initial accumulator of 0, TorchRec epsilon 1e-10 and 0: pass them to
 * match), clipping in Keras's order, schedules and `decay`, `IndexedSlices` with the sum of
 * duplicates, the `"accumulator"` slot (shape `[rows]`), `getWeights`/`setWeights` and configs.
 * Dense gradients touch every row; the same row kernel reads them where they lie in the
 * variable's gradient region.
 *
 * Variables must come from a {@linkcode VariableStore} (their shape gives the rows); variables in
 * your own buffers are refused.
 *
 * @example
 * ```ts
 * import { IndexedSlices, RowWiseAdagrad, VariableStore } from "@webgpu-adagrad/core";
 *
 * const adapter = await navigator.gpu.requestAdapter();
 * const device = await adapter!.requestDevice();
 * const store = new VariableStore(device);
 * const table = store.variable("embedding", [100_000, 16], 0.01);
 * const opt = new RowWiseAdagrad({ learningRate: 0.05, initialAccumulatorValue: 0 });
 * const ids = new Int32Array([3, 99_999, 3]);
 * const rows = new Float32Array(3 * 16).fill(0.5);
 * await opt.applyGradients([[new IndexedSlices(rows, ids, [100_000, 16]), table]]);
 * console.log(opt.getSlot(table, "accumulator").shape); // [100000]: 400 KB instead of 6.4 MB
 * device.destroy();
 * ```
 */
export class RowWiseAdagrad extends Adagrad<RowWiseAdagradConfig> {
  /** @ignore */
  protected static override readonly classRule: Rule = ROW_WISE_RULE;
  /** @ignore */
  protected static override readonly classVariant: Variant = ROW_WISE;
  /**
   * Creates the optimizer; `name` defaults to `"RowWiseAdagrad"`, the other options are
   * {@linkcode Adagrad}'s and FBGEMM's weight decay and `maxNorm`.
   *
   * @param options Adagrad's options and FBGEMM's
   * @throws {TypeError} for an unknown option or a value of the wrong type
   * @throws {RangeError} for a non-finite or negative value where Keras or FBGEMM forbids one
   */
  constructor(options: RowWiseAdagradOptions = {}) {
    super(options as AdagradOptions);
  }

  /** FBGEMM `weight_decay` (0 for none). */
  get weightDecay(): number {
    return this.getConfig().weight_decay ?? 0;
  }

  /** FBGEMM `weight_decay_mode`: `"l2"` or `"decoupled"` (`"l2"` without weight decay). */
  get weightDecayMode(): "l2" | "decoupled" {
    return this.getConfig().weight_decay_mode ?? "l2";
  }

  /** FBGEMM `max_norm` (0 for none). */
  get maxNorm(): number {
    return this.getConfig().max_norm ?? 0;
  }

  /**
   * Builds the optimizer from a config dict, as {@linkcode Adagrad.fromConfig} does.
   *
   * @example
   * ```ts
   * import { RowWiseAdagrad } from "@webgpu-adagrad/core";
   *
   * const opt = RowWiseAdagrad.fromConfig({ learning_rate: 0.05, epsilon: 1e-8 });
   * console.log(opt.name, opt.epsilon); // RowWiseAdagrad 1e-8
   * ```
   */
  static override fromConfig(
    config: Partial<RowWiseAdagradConfig> | Record<string, unknown>,
  ): RowWiseAdagrad {
    return new RowWiseAdagrad(ROW_WISE_RULE.optionsFromConfig(config) as RowWiseAdagradOptions);
  }
}
