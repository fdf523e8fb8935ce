// Keras's `CosineDecay` and `CosineDecayRestarts` (keras/optimizer_v2/learning_rate_schedule.py,
// TF 2.4-2.10).
import { finiteNumber } from "../_common/validate.ts";
import { checkedStep, f, type KerasArg, NAME, positive } from "./_helpers.ts";
import { KerasSchedule } from "./keras_schedule.ts";

/** Keras's arguments of `CosineDecay`, in Keras's order. */
export const COSINE_DECAY_ARGS: readonly KerasArg[] = [
  ["initial_learning_rate", finiteNumber],
  ["decay_steps", positive],
  ["alpha", finiteNumber, 0.0],
  NAME,
];

/** Keras's arguments of `CosineDecayRestarts`, in Keras's order. */
export const COSINE_DECAY_RESTARTS_ARGS: readonly KerasArg[] = [
  ["initial_learning_rate", finiteNumber],
  ["first_decay_steps", positive],
  ["t_mul", positive, 2.0],
  ["m_mul", finiteNumber, 1.0],
  ["alpha", finiteNumber, 0.0],
  NAME,
];

// Both schedules' last step, Keras's `decayed`: `cosine` lifted onto the floor `alpha`, times the
// initial rate.
function decayed(s: { initialLearningRate: number; alpha: number }, cosine: number): number {
  const alpha = f(s.alpha);
  return f(f(s.initialLearningRate) * f(f(f(1 - alpha) * cosine) + alpha));
}

/**
 * Cosine decay from `initial_learning_rate` to `alpha * initial_learning_rate` over
 * `decay_steps`, then flat (Keras `CosineDecay`, without the warm-up of later versions).
 *
 * @example
 * ```ts
 * import { CosineDecay } from "@webgpu-adagrad/core";
 *
 * console.log(new CosineDecay(1.0, 1000).call(500)); // 0.5
 * ```
 */
export class CosineDecay extends KerasSchedule {
  /** Keras `initial_learning_rate`. */
  declare readonly initialLearningRate: number;
  /** Keras `decay_steps`. */
  declare readonly decaySteps: number;
  /** Keras `alpha`: the floor as a fraction of the initial rate. */
  declare readonly alpha: number;

  /**
   * Keras's arguments, in Keras's order.
   *
   * @param initialLearningRate the rate at step 0
   * @param decaySteps steps to decay over (positive)
   * @param alpha the floor, as a fraction of the initial rate (default 0)
   * @param name Keras `name` (default null)
   */
  constructor(
    initialLearningRate: number,
    decaySteps: number,
    alpha?: number,
    name?: string | null,
  ) {
    super(COSINE_DECAY_ARGS, [initialLearningRate, decaySteps, alpha, name]);
  }

  /** The learning rate at `step`. */
  call(step: number): number {
    const steps = f(this.decaySteps);
    const s = Math.min(checkedStep(step), steps);
    return decayed(this, f(0.5 * f(1 + f(Math.cos(f(Math.PI * f(s / steps)))))));
  }
}

/**
 * Cosine decay with warm restarts (SGDR): periods of `first_decay_steps * t_mul ** i` steps, each
 * starting at `m_mul ** i` times the initial rate (Keras `CosineDecayRestarts`; `alpha` is not
 * scaled by `m_mul ** i`, as in Keras).
 *
 * @example
 * ```ts
 * import { CosineDecayRestarts } from "@webgpu-adagrad/core";
 *
 * console.log(new CosineDecayRestarts(1.0, 1000).call(1000)); // 1 (first restart)
 * ```
 */
export class CosineDecayRestarts extends KerasSchedule {
  /** Keras `initial_learning_rate`. */
  declare readonly initialLearningRate: number;
  /** Keras `first_decay_steps`. */
  declare readonly firstDecaySteps: number;
  /** Keras `t_mul`: each period is this many times longer than the last. */
  declare readonly tMul: number;
  /** Keras `m_mul`: each restart starts this many times lower than the last. */
  declare readonly mMul: number;
  /** Keras `alpha`: the floor, as a fraction of the initial rate. */
  declare readonly alpha: number;

  /**
   * Keras's arguments, in Keras's order.
   *
   * @param initialLearningRate the rate at step 0
   * @param firstDecaySteps length of the first period (positive)
   * @param tMul period growth (default 2)
   * @param mMul restart decay (default 1)
   * @param alpha the floor (default 0)
   * @param name Keras `name` (default null)
   */
  constructor(
    initialLearningRate: number,
    firstDecaySteps: number,
    tMul?: number,
    mMul?: number,
    alpha?: number,
    name?: string | null,
  ) {
    super(COSINE_DECAY_RESTARTS_ARGS, [
      initialLearningRate,
      firstDecaySteps,
      tMul,
      mMul,
      alpha,
      name,
    ]);
  }

  /** The learning rate at `step`. */
  call(step: number): number {
    const tMul = f(this.tMul);
    let done = f(checkedStep(step) / f(this.firstDecaySteps));
    let i: number;
    if (tMul === 1) {
      i = Math.floor(done);
      done = f(done - i);
    } else {
      i = Math.floor(f(f(Math.log(f(1 - f(done * f(1 - tMul))))) / f(Math.log(tMul))));
      const sumR = f(f(1 - f(tMul ** i)) / f(1 - tMul));
      done = f(f(done - sumR) / f(tMul ** i));
    }
    const mFac = f(f(this.mMul) ** i);
    return decayed(this, f(f(0.5 * mFac) * f(1 + f(Math.cos(f(Math.PI * done))))));
  }
}
