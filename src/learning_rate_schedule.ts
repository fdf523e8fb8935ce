// Keras's learning-rate schedules (keras/optimizer_v2/learning_rate_schedule.py, TF 2.4-2.10):
// same arguments in the same order, same formulas, computed in float32 as Keras does for a
// Python-float initial learning rate, and the same `get_config()` keys.
import { describe, finiteNumber } from "./_validate.ts";

const f = Math.fround;

/** A schedule's config as Keras's `serialize` writes it. */
export interface SerializedSchedule {
  /** Keras class name, e.g. `"ExponentialDecay"`. */
  class_name: string;
  /** The schedule's `get_config()`. */
  config: Record<string, unknown>;
}

/**
 * Base class of the learning-rate schedules: a function of the 0-based step (the optimizer's
 * `iterations` before the step) to a learning rate. Subclass it for a schedule of your own.
 *
 * @example
 * ```ts
 * import { LearningRateSchedule } from "@webgpu-adagrad/core";
 *
 * class Halving extends LearningRateSchedule {
 *   call(step: number): number {
 *     return 0.1 / 2 ** Math.floor(step / 100);
 *   }
 *   getConfig(): Record<string, unknown> {
 *     return {};
 *   }
 * }
 * console.log(new Halving().call(250)); // 0.025
 * ```
 */
export abstract class LearningRateSchedule {
  /** The learning rate at `step`. */
  abstract call(step: number): number;
  /** The constructor's arguments with Keras's snake_case keys. */
  abstract getConfig(): Record<string, unknown>;
}

function positive(x: unknown, what: string): number {
  const v = finiteNumber(x, what);
  if (v <= 0) throw new RangeError(`${what} must be positive, got ${v}`);
  return v;
}

function optionalName(name: unknown): string | null {
  if (name === undefined || name === null) return null;
  if (typeof name !== "string") throw new TypeError(`name must be a string, got ${describe(name)}`);
  return name;
}

function checkedStep(step: number): number {
  return f(finiteNumber(step, "step"));
}

/**
 * `initial_learning_rate * decay_rate ** (step / decay_steps)`, the exponent floored when
 * `staircase` (Keras `ExponentialDecay`).
 *
 * @example
 * ```ts
 * import { ExponentialDecay } from "@webgpu-adagrad/core";
 *
 * console.log(new ExponentialDecay(0.05, 10, 0.96).call(5)); // ≈ 0.0489898
 * ```
 */
export class ExponentialDecay extends LearningRateSchedule {
  /** Keras `initial_learning_rate`. */
  readonly initialLearningRate: number;
  /** Keras `decay_steps`. */
  readonly decaySteps: number;
  /** Keras `decay_rate`. */
  readonly decayRate: number;
  /** Keras `staircase`. */
  readonly staircase: boolean;
  /** Keras `name`. */
  readonly name: string | null;

  /**
   * Keras's arguments, in Keras's order.
   *
   * @param initialLearningRate the rate at step 0
   * @param decaySteps steps per decay period (positive)
   * @param decayRate factor per period
   * @param staircase decay in whole periods
   * @param name Keras `name`
   */
  constructor(
    initialLearningRate: number,
    decaySteps: number,
    decayRate: number,
    staircase = false,
    name: string | null = null,
  ) {
    super();
    this.initialLearningRate = finiteNumber(initialLearningRate, "initial_learning_rate");
    this.decaySteps = positive(decaySteps, "decay_steps");
    this.decayRate = finiteNumber(decayRate, "decay_rate");
    this.staircase = Boolean(staircase);
    this.name = optionalName(name);
  }

  /** The learning rate at `step`. */
  call(step: number): number {
    let p = f(checkedStep(step) / f(this.decaySteps));
    if (this.staircase) p = Math.floor(p);
    return f(f(this.initialLearningRate) * f(f(this.decayRate) ** p));
  }

  /** Keras's `get_config()`. */
  getConfig(): Record<string, unknown> {
    return {
      initial_learning_rate: this.initialLearningRate,
      decay_steps: this.decaySteps,
      decay_rate: this.decayRate,
      staircase: this.staircase,
      name: this.name,
    };
  }
}

/**
 * A step function: `values[0]` while `step <= boundaries[0]`, `values[i + 1]` while
 * `boundaries[i] < step <= boundaries[i + 1]`, `values[values.length - 1]` after the last
 * boundary (Keras `PiecewiseConstantDecay`).
 *
 * @example
 * ```ts
 * import { PiecewiseConstantDecay } from "@webgpu-adagrad/core";
 *
 * const s = new PiecewiseConstantDecay([100, 110], [1.0, 0.5, 0.1]);
 * console.log(s.call(100), s.call(101), s.call(111)); // 1 0.5 0.1
 * ```
 */
export class PiecewiseConstantDecay extends LearningRateSchedule {
  /** Keras `boundaries`, increasing. */
  readonly boundaries: readonly number[];
  /** Keras `values`: one more than `boundaries`. */
  readonly values: readonly number[];
  /** Keras `name`. */
  readonly name: string | null;

  /**
   * Keras's arguments, in Keras's order.
   *
   * @param boundaries increasing steps
   * @param values one more value than boundaries
   * @param name Keras `name`
   */
  constructor(boundaries: number[], values: number[], name: string | null = null) {
    super();
    if (!Array.isArray(boundaries) || !Array.isArray(values)) {
      throw new TypeError("boundaries and values must be arrays of numbers");
    }
    if (values.length !== boundaries.length + 1) {
      throw new RangeError(
        "The length of boundaries should be 1 less than the length of values",
      );
    }
    boundaries.forEach((b, i) => finiteNumber(b, `boundaries[${i}]`));
    values.forEach((v, i) => finiteNumber(v, `values[${i}]`));
    this.boundaries = Object.freeze([...boundaries]);
    this.values = Object.freeze([...values]);
    this.name = optionalName(name);
  }

  /** The learning rate at `step`. */
  call(step: number): number {
    const s = checkedStep(step);
    const i = this.boundaries.findIndex((b) => s <= f(b));
    return f(this.values[i < 0 ? this.values.length - 1 : i]);
  }

  /** Keras's `get_config()`. */
  getConfig(): Record<string, unknown> {
    return { boundaries: [...this.boundaries], values: [...this.values], name: this.name };
  }
}

/**
 * `(initial - end) * (1 - step / decay_steps) ** power + end`, the step clipped to `decay_steps`,
 * or with `cycle`, `decay_steps` stretched to the next multiple of itself above the step (Keras
 * `PolynomialDecay`).
 *
 * @example
 * ```ts
 * import { PolynomialDecay } from "@webgpu-adagrad/core";
 *
 * console.log(new PolynomialDecay(0.05, 10, 0.001).call(5)); // ≈ 0.0255
 * ```
 */
export class PolynomialDecay extends LearningRateSchedule {
  /** Keras `initial_learning_rate`. */
  readonly initialLearningRate: number;
  /** Keras `decay_steps`. */
  readonly decaySteps: number;
  /** Keras `end_learning_rate`. */
  readonly endLearningRate: number;
  /** Keras `power`. */
  readonly power: number;
  /** Keras `cycle`. */
  readonly cycle: boolean;
  /** Keras `name`. */
  readonly name: string | null;

  /**
   * Keras's arguments, in Keras's order.
   *
   * @param initialLearningRate the rate at step 0
   * @param decaySteps steps to reach `endLearningRate` (positive)
   * @param endLearningRate the final rate (default 0.0001)
   * @param power the polynomial's power (default 1)
   * @param cycle restart after `decaySteps`
   * @param name Keras `name`
   */
  constructor(
    initialLearningRate: number,
    decaySteps: number,
    endLearningRate = 0.0001,
    power = 1.0,
    cycle = false,
    name: string | null = null,
  ) {
    super();
    this.initialLearningRate = finiteNumber(initialLearningRate, "initial_learning_rate");
    this.decaySteps = positive(decaySteps, "decay_steps");
    this.endLearningRate = finiteNumber(endLearningRate, "end_learning_rate");
    this.power = finiteNumber(power, "power");
    this.cycle = Boolean(cycle);
    this.name = optionalName(name);
  }

  /** The learning rate at `step`. */
  call(step: number): number {
    const s0 = checkedStep(step);
    let steps = f(this.decaySteps);
    let s = s0;
    if (this.cycle) {
      // Keras: multiplier 1 at step 0, else ceil(step / decay_steps).
      const m = s0 === 0 ? 1 : Math.ceil(f(s0 / steps));
      steps = f(steps * m);
    } else {
      s = Math.min(s0, steps);
    }
    const frac = f(1 - f(s / steps));
    const lr0 = f(this.initialLearningRate);
    const end = f(this.endLearningRate);
    return f(f(f(lr0 - end) * f(frac ** f(this.power))) + end);
  }

  /** Keras's `get_config()`. */
  getConfig(): Record<string, unknown> {
    return {
      initial_learning_rate: this.initialLearningRate,
      decay_steps: this.decaySteps,
      end_learning_rate: this.endLearningRate,
      power: this.power,
      cycle: this.cycle,
      name: this.name,
    };
  }
}

/**
 * `initial_learning_rate / (1 + decay_rate * step / decay_steps)`, the quotient floored when
 * `staircase` (Keras `InverseTimeDecay`).
 *
 * @example
 * ```ts
 * import { InverseTimeDecay } from "@webgpu-adagrad/core";
 *
 * console.log(new InverseTimeDecay(3.0, 1.0, 0.5).call(2)); // 1.5
 * ```
 */
export class InverseTimeDecay extends LearningRateSchedule {
  /** Keras `initial_learning_rate`. */
  readonly initialLearningRate: number;
  /** Keras `decay_steps`. */
  readonly decaySteps: number;
  /** Keras `decay_rate`. */
  readonly decayRate: number;
  /** Keras `staircase`. */
  readonly staircase: boolean;
  /** Keras `name`. */
  readonly name: string | null;

  /**
   * Keras's arguments, in Keras's order.
   *
   * @param initialLearningRate the rate at step 0
   * @param decaySteps steps per unit of decay (positive)
   * @param decayRate decay per unit
   * @param staircase decay in whole units
   * @param name Keras `name`
   */
  constructor(
    initialLearningRate: number,
    decaySteps: number,
    decayRate: number,
    staircase = false,
    name: string | null = null,
  ) {
    super();
    this.initialLearningRate = finiteNumber(initialLearningRate, "initial_learning_rate");
    this.decaySteps = positive(decaySteps, "decay_steps");
    this.decayRate = finiteNumber(decayRate, "decay_rate");
    this.staircase = Boolean(staircase);
    this.name = optionalName(name);
  }

  /** The learning rate at `step`. */
  call(step: number): number {
    let p = f(checkedStep(step) / f(this.decaySteps));
    if (this.staircase) p = Math.floor(p);
    return f(f(this.initialLearningRate) / f(1 + f(f(this.decayRate) * p)));
  }

  /** Keras's `get_config()`. */
  getConfig(): Record<string, unknown> {
    return {
      initial_learning_rate: this.initialLearningRate,
      decay_steps: this.decaySteps,
      decay_rate: this.decayRate,
      staircase: this.staircase,
      name: this.name,
    };
  }
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
export class CosineDecay extends LearningRateSchedule {
  /** Keras `initial_learning_rate`. */
  readonly initialLearningRate: number;
  /** Keras `decay_steps`. */
  readonly decaySteps: number;
  /** Keras `alpha`: the floor as a fraction of the initial rate. */
  readonly alpha: number;
  /** Keras `name`. */
  readonly name: string | null;

  /**
   * Keras's arguments, in Keras's order.
   *
   * @param initialLearningRate the rate at step 0
   * @param decaySteps steps to decay over (positive)
   * @param alpha the floor, as a fraction of the initial rate (default 0)
   * @param name Keras `name`
   */
  constructor(
    initialLearningRate: number,
    decaySteps: number,
    alpha = 0.0,
    name: string | null = null,
  ) {
    super();
    this.initialLearningRate = finiteNumber(initialLearningRate, "initial_learning_rate");
    this.decaySteps = positive(decaySteps, "decay_steps");
    this.alpha = finiteNumber(alpha, "alpha");
    this.name = optionalName(name);
  }

  /** The learning rate at `step`. */
  call(step: number): number {
    const steps = f(this.decaySteps);
    const s = Math.min(checkedStep(step), steps);
    const cosine = f(0.5 * f(1 + f(Math.cos(f(Math.PI * f(s / steps))))));
    const alpha = f(this.alpha);
    return f(f(this.initialLearningRate) * f(f(f(1 - alpha) * cosine) + alpha));
  }

  /** Keras's `get_config()`. */
  getConfig(): Record<string, unknown> {
    return {
      initial_learning_rate: this.initialLearningRate,
      decay_steps: this.decaySteps,
      alpha: this.alpha,
      name: this.name,
    };
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
export class CosineDecayRestarts extends LearningRateSchedule {
  /** Keras `initial_learning_rate`. */
  readonly initialLearningRate: number;
  /** Keras `first_decay_steps`. */
  readonly firstDecaySteps: number;
  /** Keras `t_mul`: each period is this many times longer than the last. */
  readonly tMul: number;
  /** Keras `m_mul`: each restart starts this many times lower than the last. */
  readonly mMul: number;
  /** Keras `alpha`: the floor, as a fraction of the initial rate. */
  readonly alpha: number;
  /** Keras `name`. */
  readonly name: string | null;

  /**
   * Keras's arguments, in Keras's order.
   *
   * @param initialLearningRate the rate at step 0
   * @param firstDecaySteps length of the first period (positive)
   * @param tMul period growth (default 2)
   * @param mMul restart decay (default 1)
   * @param alpha the floor (default 0)
   * @param name Keras `name`
   */
  constructor(
    initialLearningRate: number,
    firstDecaySteps: number,
    tMul = 2.0,
    mMul = 1.0,
    alpha = 0.0,
    name: string | null = null,
  ) {
    super();
    this.initialLearningRate = finiteNumber(initialLearningRate, "initial_learning_rate");
    this.firstDecaySteps = positive(firstDecaySteps, "first_decay_steps");
    this.tMul = positive(tMul, "t_mul");
    this.mMul = finiteNumber(mMul, "m_mul");
    this.alpha = finiteNumber(alpha, "alpha");
    this.name = optionalName(name);
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
    const cosine = f(f(0.5 * mFac) * f(1 + f(Math.cos(f(Math.PI * done)))));
    const alpha = f(this.alpha);
    return f(f(this.initialLearningRate) * f(f(f(1 - alpha) * cosine) + alpha));
  }

  /** Keras's `get_config()`. */
  getConfig(): Record<string, unknown> {
    return {
      initial_learning_rate: this.initialLearningRate,
      first_decay_steps: this.firstDecaySteps,
      t_mul: this.tMul,
      m_mul: this.mMul,
      alpha: this.alpha,
      name: this.name,
    };
  }
}

// Keras class name -> how to build it from its config (keys as Keras writes them).
const FROM_CONFIG: Record<string, (c: Record<string, unknown>) => LearningRateSchedule> = {
  ExponentialDecay: (c) =>
    new ExponentialDecay(
      c.initial_learning_rate as number,
      c.decay_steps as number,
      c.decay_rate as number,
      (c.staircase ?? false) as boolean,
      (c.name ?? null) as string | null,
    ),
  PiecewiseConstantDecay: (c) =>
    new PiecewiseConstantDecay(
      c.boundaries as number[],
      c.values as number[],
      (c.name ?? null) as string | null,
    ),
  PolynomialDecay: (c) =>
    new PolynomialDecay(
      c.initial_learning_rate as number,
      c.decay_steps as number,
      (c.end_learning_rate ?? 0.0001) as number,
      (c.power ?? 1.0) as number,
      (c.cycle ?? false) as boolean,
      (c.name ?? null) as string | null,
    ),
  InverseTimeDecay: (c) =>
    new InverseTimeDecay(
      c.initial_learning_rate as number,
      c.decay_steps as number,
      c.decay_rate as number,
      (c.staircase ?? false) as boolean,
      (c.name ?? null) as string | null,
    ),
  CosineDecay: (c) =>
    new CosineDecay(
      c.initial_learning_rate as number,
      c.decay_steps as number,
      (c.alpha ?? 0.0) as number,
      (c.name ?? null) as string | null,
    ),
  CosineDecayRestarts: (c) =>
    new CosineDecayRestarts(
      c.initial_learning_rate as number,
      c.first_decay_steps as number,
      (c.t_mul ?? 2.0) as number,
      (c.m_mul ?? 1.0) as number,
      (c.alpha ?? 0.0) as number,
      (c.name ?? null) as string | null,
    ),
};

/**
 * `{ class_name, config }` for one of Keras's schedules, as `tf.keras.optimizers.schedules.serialize`
 * writes it.
 *
 * @example
 * ```ts
 * import { ExponentialDecay, serializeSchedule } from "@webgpu-adagrad/core";
 *
 * console.log(serializeSchedule(new ExponentialDecay(0.1, 100, 0.9)).class_name); // "ExponentialDecay"
 * ```
 */
export function serializeSchedule(schedule: LearningRateSchedule): SerializedSchedule {
  // An explicit table, not `constructor.name`, which minifying bundlers rename.
  const className = KERAS_NAMES.get(schedule?.constructor);
  if (!className) {
    throw new TypeError(`cannot serialize ${describe(schedule)}: not one of Keras's schedules`);
  }
  return { class_name: className, config: schedule.getConfig() };
}

const KERAS_NAMES = new Map<unknown, string>([
  [ExponentialDecay, "ExponentialDecay"],
  [PiecewiseConstantDecay, "PiecewiseConstantDecay"],
  [PolynomialDecay, "PolynomialDecay"],
  [InverseTimeDecay, "InverseTimeDecay"],
  [CosineDecay, "CosineDecay"],
  [CosineDecayRestarts, "CosineDecayRestarts"],
]);

/**
 * Rebuilds a schedule from `{ class_name, config }`, as Python Keras writes it.
 *
 * @example
 * ```ts
 * import { deserializeSchedule } from "@webgpu-adagrad/core";
 *
 * const s = deserializeSchedule({
 *   class_name: "InverseTimeDecay",
 *   config: { initial_learning_rate: 0.5, decay_steps: 1.0, decay_rate: 0.1, staircase: false, name: null },
 * });
 * console.log(s.call(10)); // 0.25
 * ```
 */
export function deserializeSchedule(serialized: SerializedSchedule): LearningRateSchedule {
  const build = typeof serialized === "object" && serialized !== null
    ? FROM_CONFIG[serialized.class_name]
    : undefined;
  if (!build) {
    throw new TypeError(
      `unknown learning rate schedule ${
        describe((serialized as { class_name?: unknown })?.class_name)
      }; known: ${Object.keys(FROM_CONFIG).join(", ")}`,
    );
  }
  return build(serialized.config ?? {});
}
