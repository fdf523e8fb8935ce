// PyTorch's Adagrad (torch.optim.Adagrad, PyTorch 1.13-2.x): its arguments in camelCase, its
// defaults, its validation in its own words, and its param_group keys as the config. The step
// itself is the kernels' RULE_TORCH.
import { describe, finiteNumber } from "../_common/validate.ts";
import { LearningRateSchedule } from "../schedules/learning_rate_schedule.ts";
import {
  deserializeSchedule,
  type SerializedSchedule,
  serializeSchedule,
} from "../schedules/schedule_serialization.ts";
import { NormMode, PLAIN_SPECIALISATION } from "../_kernels/specialisation.ts";
import { KERAS2_DEFAULTS, type ResolvedOptions, stepValuesOf } from "./_options.ts";
import { lrOf, type Rule } from "./rule.ts";

/**
 * Options of {@linkcode Adagrad.torch}: `torch.optim.Adagrad`'s arguments in camelCase
 * (PyTorch's name beside each). There is no `params`: the variables come with each step.
 *
 * @example
 * ```ts ignore
 * const options: TorchAdagradOptions = { lr: 0.1, lrDecay: 0.5, weightDecay: 0.1 };
 * ```
 */
export interface TorchAdagradOptions {
  /** PyTorch `lr`, or a schedule of this package's, called with the call count. Default 0.01. */
  lr?: number | LearningRateSchedule;
  /**
   * PyTorch `lr_decay`: a variable's step `k` (1 for its first) uses
   * `lr / (1 + (k - 1) * lrDecay)`. Default 0.
   */
  lrDecay?: number;
  /**
   * PyTorch `weight_decay`: L2, `g += weightDecay * w` before the accumulator, so it enters the
   * sum. Not with sparse gradients. Default 0.
   */
  weightDecay?: number;
  /** PyTorch `initial_accumulator_value`: where every `sum` starts. Default 0. */
  initialAccumulatorValue?: number;
  /** PyTorch `eps`, outside the square root: `sqrt(sum) + eps`. Default 1e-10. */
  eps?: number;
  /** PyTorch `maximize`: step up the gradient (it is negated first). Default false. */
  maximize?: boolean;
  /** A name for messages and checkpoint keys (not PyTorch's). Default `"Adagrad"`. */
  name?: string;
  /** The device, for an optimizer that only updates variables in your own buffers. */
  device?: GPUDevice;
}

/**
 * The config of a PyTorch rule optimizer: a `param_groups` entry's keys that this package reads
 * (a `state_dict()["param_groups"][0]` loads, its `params`, `foreach`, `differentiable` and
 * `fused` ignored), and the name.
 *
 * @example
 * ```ts ignore
 * const config: TorchAdagradConfig = Adagrad.torch({ lr: 0.1 }).getConfig() as TorchAdagradConfig;
 * ```
 */
export interface TorchAdagradConfig {
  /** The optimizer's name (not PyTorch's). */
  name: string;
  /** A number; a schedule set later (`opt.learningRate = ...`) is serialized as Keras's. */
  lr: number | SerializedSchedule;
  /** PyTorch `lr_decay`. */
  lr_decay: number;
  /** PyTorch `weight_decay` (L2). */
  weight_decay: number;
  /** PyTorch `initial_accumulator_value`. */
  initial_accumulator_value: number;
  /** PyTorch `eps`. */
  eps: number;
  /** PyTorch `maximize`. */
  maximize: boolean;
}

const OPTION_KEYS = [
  "lr",
  "lrDecay",
  "weightDecay",
  "initialAccumulatorValue",
  "eps",
  "maximize",
  "name",
  "device",
];

/** param_group key -> option; null: PyTorch's, read and ignored. */
const CONFIG_KEYS: Record<string, keyof TorchAdagradOptions | null> = {
  name: "name",
  lr: "lr",
  lr_decay: "lrDecay",
  weight_decay: "weightDecay",
  initial_accumulator_value: "initialAccumulatorValue",
  eps: "eps",
  maximize: "maximize",
  params: null,
  foreach: null,
  differentiable: null,
  fused: null,
};

/** Validates PyTorch options in PyTorch's order and words, and fills in its defaults. */
export function resolveTorchOptions(options: unknown): ResolvedOptions {
  if (typeof options !== "object" || options === null || options instanceof LearningRateSchedule) {
    throw new TypeError(
      `Adagrad.torch: options must be an object, got ${describe(options)}; for example: ` +
        `{ lr: 0.01 }`,
    );
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) {
      throw new TypeError(`Adagrad.torch() got an unexpected keyword argument '${key}'`);
    }
  }
  const o = options as TorchAdagradOptions;
  const nonNegative = (x: unknown, fallback: number, what: string, message: string) => {
    const value = x === undefined ? fallback : finiteNumber(x, what);
    if (!(value >= 0)) throw new RangeError(`${message}: ${value}`);
    return value;
  };
  const lr = o.lr instanceof LearningRateSchedule
    ? o.lr
    : nonNegative(o.lr, 0.01, "lr", "Invalid learning rate");
  const lrDecay = nonNegative(o.lrDecay, 0, "lrDecay", "Invalid lr_decay value");
  const weightDecay = nonNegative(o.weightDecay, 0, "weightDecay", "Invalid weight_decay value");
  const initial = nonNegative(
    o.initialAccumulatorValue,
    0,
    "initialAccumulatorValue",
    "Invalid initial_accumulator_value value",
  );
  const eps = nonNegative(o.eps, 1e-10, "eps", "Invalid epsilon value");
  const maximize = o.maximize ?? false;
  if (typeof maximize !== "boolean") {
    throw new TypeError(`maximize must be a boolean, got ${describe(maximize)}`);
  }
  const name = o.name ?? "Adagrad";
  if (typeof name !== "string") {
    throw new TypeError(`Adagrad.torch: name must be a string, got ${describe(name)}`);
  }
  const device = o.device;
  if (device !== undefined && (typeof device !== "object" || !("createBuffer" in device))) {
    throw new TypeError(`Adagrad.torch: device must be a GPUDevice, got ${describe(device)}`);
  }
  return {
    ...KERAS2_DEFAULTS,
    learningRate: lr,
    initialAccumulatorValue: initial,
    epsilon: eps,
    name,
    weightDecay,
    lrDecay,
    maximize,
    device,
  };
}

/** The config: PyTorch's param_group keys. */
export function torchConfig(
  o: ResolvedOptions,
  learningRate: number | LearningRateSchedule,
): TorchAdagradConfig {
  return {
    name: o.name,
    lr: learningRate instanceof LearningRateSchedule
      ? serializeSchedule(learningRate)
      : learningRate,
    lr_decay: o.lrDecay,
    weight_decay: o.weightDecay ?? 0,
    initial_accumulator_value: o.initialAccumulatorValue,
    eps: o.epsilon,
    maximize: o.maximize,
  };
}

/** Options from a config or a PyTorch `param_groups` entry. */
export function torchOptionsFromConfig(config: unknown): TorchAdagradOptions {
  if (typeof config !== "object" || config === null) {
    throw new TypeError(`Adagrad.fromConfig: expected an object, got ${describe(config)}`);
  }
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (!(key in CONFIG_KEYS)) {
      throw new TypeError(`Adagrad.fromConfig: '${key}' is no key of torch.optim.Adagrad`);
    }
    const option = CONFIG_KEYS[key];
    if (option === null) continue;
    options[option] = option === "lr" && typeof value === "object" && value !== null
      ? deserializeSchedule(value as SerializedSchedule)
      : value;
  }
  return options as TorchAdagradOptions;
}

/** PyTorch (torch.optim.Adagrad, 1.13-2.x). */
export const TORCH: Rule<"torch"> = {
  id: "torch",
  framework: "PyTorch (torch.optim.Adagrad)",
  kernel: "torch",
  learningRateKey: "lr",
  variableSteps: true,
  iterationsName: "iter",
  resolve: resolveTorchOptions,
  optionsFromConfig: torchOptionsFromConfig,
  toConfig: torchConfig,
  slots: (o) => [{ name: "sum", role: "accumulator", initial: o.initialAccumulatorValue }],
  specialisation: () => ({
    ...PLAIN_SPECIALISATION,
    normMode: NormMode.none,
  }),
  iterations: (_, calls) => calls,
  call: (o, calls, lr) => ({
    lrAt: lrOf(o, lr, calls),
    // A variable's step is this call's number less its lag (VariableTerms, _variable_terms.ts).
    values: {
      ...stepValuesOf(o),
      args: [o.weightDecay ?? 0, o.lrDecay, o.maximize ? 1 : 0, 0],
      step: calls + 1,
    },
  }),
  checkSparse: (o) => {
    if ((o.weightDecay ?? 0) !== 0) {
      throw new TypeError("weight_decay option is not compatible with sparse gradients");
    }
  },
  checkLossScale: (_, dynamic, name) => {
    if (dynamic) {
      throw new TypeError(
        `LossScaleOptimizer: optimizer '${name}' follows PyTorch's rule, whose per-variable ` +
          `steps are counted on the CPU; a dynamic scale skips steps on the GPU: use a fixed ` +
          `scale (dynamic: false)`,
      );
    }
  },
};
