import * as tf from "@tensorflow/tfjs-core";
import { Adagrad } from "../optimizers/adagrad.ts";
import { submitStep } from "../optimizers/adagrad_base.ts";
import { type AdagradOptions, resolveOptions } from "../rules/keras2.ts";
import type { Keras3AdagradOptions } from "../rules/keras3.ts";
import type { TorchAdagradOptions } from "../rules/torch.ts";
import type { OptaxAdagradOptions } from "../rules/optax.ts";
import type { IndexedSlices } from "../sparse/indexed_slices.ts";
import { RowWiseAdagrad } from "../optimizers/row_wise_adagrad.ts";
import { ProximalAdagrad } from "../optimizers/proximal_adagrad.ts";
import { AdagradDA } from "../optimizers/adagrad_da.ts";
import { AdagradBase, optimizerKind } from "../optimizers/adagrad_base.ts";
import { REGISTRY } from "../optimizers/registry.ts";
import type { ProximalAdagradOptions } from "../rules/proximal.ts";
import type { AdagradDAOptions } from "../rules/adagrad_da.ts";
import { LearningRateSchedule } from "../schedules/learning_rate_schedule.ts";
import type { Gradient, GradientPair } from "../optimizers/gradients.ts";
import type { Variable } from "../memory/variable.ts";
import { VariableStore } from "../memory/variable_store.ts";
import {
  activeWebGpuBackend,
  copyOutsOf,
  dropCpuCopy,
  flush,
  gpuData,
  guardReads,
  noteCopyOut,
  ownData,
  ownerOf,
  variableBuffer,
  type WebGpuBackend,
} from "./_backend.ts";
import { checkedGradient, namedGradients, pythonicSchedule } from "./_inputs.ts";
import type { TfjsNamedTensor } from "./named_tensor.ts";
import { PendingWeights } from "./_weights.ts";
import {
  type TfjsConfig,
  TfjsOptimizerBase,
  type TfjsSerializable,
  type TfjsSerializableConstructor,
  type TfjsTensor,
} from "./_types.ts";

/** A variable as our last copy-out left it. */
interface Synced {
  dataId: object;
  buffer: GPUBuffer;
  writes: number;
}

/**
 * {@linkcode Adagrad}'s options (Keras's, in camelCase), plus `rowWise`. There is no `device`:
 * the optimizer uses the device of TF.js's active WebGPU backend.
 *
 * @example
 * ```ts
 * import type { TfjsAdagradOptions } from "@webgpu-adagrad/core/tfjs";
 *
 * const options: TfjsAdagradOptions = { learningRate: 0.1, clipnorm: 1, rowWise: false };
 * console.log(options.rowWise); // false
 * ```
 */
export interface TfjsAdagradOptions extends Omit<AdagradOptions, "device"> {
  /**
   * One accumulator per row (the variable's first dimension) instead of per element: FBGEMM's
   * and TorchRec's row-wise Adagrad ({@linkcode RowWiseAdagrad}). Default `false` (Keras).
   */
  rowWise?: boolean;
}

/**
 * TF.js's `tf.serialization.ConfigDict`: what `getConfig()` returns.
 *
 * @example
 * ```ts
 * import { TfjsAdagrad, type TfjsConfigDict } from "@webgpu-adagrad/core/tfjs";
 *
 * const opt = new TfjsAdagrad({ learningRate: 0.1 });
 * const config: TfjsConfigDict = opt.getConfig();
 * console.log(config.learning_rate); // 0.1
 * opt.dispose();
 * ```
 */
export type TfjsConfigDict = TfjsConfig;

/**
 * A gradient for {@linkcode TfjsAdagrad.applyGradients}: a float32 `tf.Tensor` of the variable's
 * shape, rows of one ({@linkcode IndexedSlices}, see {@linkcode tfjsIndexedSlices}), or none.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import type { TfjsGradient } from "@webgpu-adagrad/core/tfjs";
 *
 * const grads: Record<string, TfjsGradient> = { w: tf.tensor1d([0.1, 0.2]), b: null };
 * console.log(Object.keys(grads)); // ["w", "b"]
 * ```
 */
export type TfjsGradient = TfjsTensor | IndexedSlices | null | undefined;

/**
 * Keras's Adagrad as a TensorFlow.js `tf.Optimizer`, on TF.js's WebGPU backend: `model.compile`,
 * `model.fit`, `minimize` and `applyGradients` work as with `tf.train.adagrad`, but a call is one
 * fused step over every variable in one submit, after TF.js's queued work is flushed. Variables
 * are updated in their own GPU buffers: no new tensor per step, no readback. The accumulators live
 * in this package's buffers. The rule is Keras 2's (`sqrt(acc) + epsilon`); with
 * `epsilonInsideSqrt: true` it is TF.js's own (`sqrt(acc + epsilon)`).
 *
 * Gradients must be float32 tensors on the active WebGPU backend's device, or
 * {@linkcode IndexedSlices} (see {@linkcode tfjsIndexedSlices}); errors are thrown before anything
 * is written.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-webgpu";
 * import { TfjsAdagrad } from "@webgpu-adagrad/core/tfjs";
 *
 * await tf.setBackend("webgpu");
 * const w = tf.variable(tf.tensor1d([1, 2]), true, "w");
 * const opt = new TfjsAdagrad({ learningRate: 3.0 });
 * opt.applyGradients({ w: tf.tensor1d([0.1, 0.1]) });
 * console.log(await w.data()); // ≈ [0.0954662, 1.0954662], as Keras
 * opt.dispose();
 * ```
 */
export class TfjsAdagrad extends TfjsOptimizerBase {
  /** The name `getClassName()` and `model.save` write; `fromConfig` is registered under it. */
  static get className(): string {
    return "TfjsAdagrad";
  }

  readonly #inner: AdagradBase<object>;
  readonly #rowWise: boolean;
  /** The device of the backend of the first step: the accumulators live there. */
  #device: GPUDevice | null = null;
  #store: VariableStore | null = null;
  /** Each TF.js variable's copy in the store arenas (the step's working area), by name. */
  readonly #mirrors = new Map<string, Variable>();
  /**
   * What each variable was right after our last copy-out: while its dataId, buffer and that
   * buffer's write count are unchanged, its mirror already holds its value and the copy-in is
   * skipped (TF.js tensors are immutable: `assign` and `setWeights` swap the dataId).
   */
  readonly #synced = new Map<string, Synced>();
  readonly #pending = new PendingWeights(
    (shape) => optimizerKind(this.#inner).variant.slotShape(shape).reduce((a, b) => a * b, 1),
    () => this.#inner.getSlotNames().at(-1)!, // the accumulator is a rule's last slot
  );
  /** Tensors handed out by the last getWeights(), freed by the next one or by dispose(). */
  #lastWeights: tf.Tensor[] = [];
  /** A GPU verdict that arrived after applyGradients returned, thrown by the next call. */
  #failure: unknown = null;
  #disposed = false;

  /**
   * Checks the options; GPU resources are made at the first step.
   *
   * @param options Keras's arguments in camelCase, and `rowWise`
   * @throws {TypeError} for an unknown option or a value of the wrong type
   * @throws {RangeError} for a non-finite or negative value where Keras forbids one
   */
  constructor(options: TfjsAdagradOptions | AdagradBase<object> = {}) {
    super();
    if (options instanceof AdagradBase) {
      if (options.iterations !== 0) {
        throw new TypeError(
          `TfjsAdagrad: optimizer '${options.name}' has already taken steps; wrap a new one`,
        );
      }
      this.#inner = options;
      this.#rowWise = options instanceof RowWiseAdagrad;
      return;
    }
    // tf.train.adagrad takes the learning rate first; a number here would be dropped silently.
    const named = typeof options === "object" && options !== null &&
      !(options instanceof LearningRateSchedule);
    if (!named) resolveOptions(options); // throws, saying how to pass it
    const { rowWise, ...rest } = options ?? {};
    if (rowWise !== undefined && typeof rowWise !== "boolean") {
      throw new TypeError(`TfjsAdagrad: rowWise must be a boolean, got ${String(rowWise)}`);
    }
    if ("device" in rest) {
      throw new TypeError(
        "TfjsAdagrad: no `device` option; it uses the device of TF.js's active WebGPU backend " +
          "(see useDeviceForTfjs)",
      );
    }
    this.#rowWise = rowWise ?? false;
    this.#inner = this.#rowWise ? new RowWiseAdagrad(rest) : new Adagrad(rest);
  }

  /**
   * Keras 3's rule ({@linkcode Adagrad.keras3}) as a TF.js optimizer: every option works in the
   * step (weight decay, EMA with its overwrite, accumulation, the loss scale factor, clipping);
   * `getWeights()` lists every slot; `setWeights()` takes back the accumulators when the optimizer
   * has no `average` or `gradient_accumulator` slot (otherwise save them with `saveCheckpoint` on
   * `adagrad`'s slots). Keras 3's `finalizeVariableValues` has no TF.js counterpart (the
   * variables are TF.js's, copied in and out by each step): use `emaOverwriteFrequency`.
   *
   * @example
   * ```ts ignore
   * const opt = TfjsAdagrad.keras3({ learningRate: 0.01, weightDecay: 0.004 });
   * model.compile({ optimizer: opt, loss: "meanSquaredError" });
   * ```
   *
   * @param options Keras 3's arguments in camelCase (no `device`)
   * @throws {TypeError} for an unknown option, a type, or `device`
   * @throws {RangeError} for a value Keras 3 refuses
   */
  static keras3(options: Omit<Keras3AdagradOptions, "device"> = {}): TfjsAdagrad {
    return TfjsAdagrad.#wrapping(options, (o) => Adagrad.keras3(o));
  }

  /**
   * PyTorch's rule ({@linkcode Adagrad.torch}) as a TF.js optimizer: `lrDecay` (per variable),
   * `weightDecay`, `maximize`; the slot `sum`, which `getWeights` and `setWeights` carry as
   * `<variable>/sum`.
   *
   * @example
   * ```ts ignore
   * const opt = TfjsAdagrad.torch({ lr: 0.05, lrDecay: 1e-4 });
   * ```
   *
   * @param options PyTorch's arguments in camelCase (no `device`)
   * @throws {TypeError} for an unknown option, a type, or `device`
   * @throws {RangeError} for a negative value, with PyTorch's message
   */
  static torch(options: Omit<TorchAdagradOptions, "device"> = {}): TfjsAdagrad {
    return TfjsAdagrad.#wrapping(options, (o) => Adagrad.torch(o));
  }

  /**
   * optax's rule ({@linkcode Adagrad.optax}) as a TF.js optimizer: the slot `sum_of_squares`,
   * which `getWeights` and `setWeights` carry as `<variable>/sum_of_squares`.
   *
   * @example
   * ```ts ignore
   * const opt = TfjsAdagrad.optax({ learningRate: 0.1, initialAccumulatorValue: 0 });
   * ```
   *
   * @param options optax's arguments in camelCase (no `device`)
   * @throws {TypeError} for an unknown option, a type, or `device`
   * @throws {RangeError} for a negative or non-finite value
   */
  static optax(options: Omit<OptaxAdagradOptions, "device">): TfjsAdagrad {
    return TfjsAdagrad.#wrapping(options, (o) => Adagrad.optax(o));
  }

  /**
   * TensorFlow's `ProximalAdagrad` ({@linkcode ProximalAdagrad}) as a TF.js optimizer, which TF.js
   * itself does not have: L1 and L2 by a proximal step, so that L1 leaves weights at exactly zero.
   * The slot `accumulator`, which `getWeights` and `setWeights` carry.
   *
   * @example
   * ```ts ignore
   * const opt = TfjsAdagrad.proximal({ learningRate: 0.1, l1RegularizationStrength: 1e-4 });
   * model.compile({ optimizer: opt, loss: "binaryCrossentropy" });
   * ```
   *
   * @param options TF's arguments in camelCase (no `device`)
   * @throws {TypeError} for an unknown option, a type, or `device`
   * @throws {RangeError} for a value TF refuses
   */
  static proximal(options: Omit<ProximalAdagradOptions, "device">): TfjsAdagrad {
    return TfjsAdagrad.#wrapping(options, (o) => new ProximalAdagrad(o));
  }

  /**
   * TensorFlow's `AdagradDA` ({@linkcode AdagradDA}) as a TF.js optimizer: dual averaging, the
   * weights recomputed from the sums of their gradients. Two slots (`gradient_accumulator`,
   * `gradient_squared_accumulator`): `getWeights` lists both; `setWeights` refuses them (save them
   * with `saveCheckpoint` on `adagrad`'s slots).
   *
   * @example
   * ```ts ignore
   * const opt = TfjsAdagrad.adagradDA({ learningRate: 0.1, l1RegularizationStrength: 1e-4 });
   * ```
   *
   * @param options TF's arguments in camelCase (no `device`)
   * @throws {TypeError} for an unknown option, a type, or `device`
   * @throws {RangeError} for a value TF refuses
   */
  static adagradDA(options: Omit<AdagradDAOptions, "device">): TfjsAdagrad {
    return TfjsAdagrad.#wrapping(options, (o) => new AdagradDA(o));
  }

  static #wrapping<O>(options: O, make: (o: O) => AdagradBase<object>): TfjsAdagrad {
    if (typeof options === "object" && options !== null && "device" in options) {
      throw new TypeError(
        "TfjsAdagrad: no `device` option; it uses the device of TF.js's active WebGPU backend " +
          "(see useDeviceForTfjs)",
      );
    }
    return new TfjsAdagrad(make(options));
  }

  /**
   * The optimizer doing the work (an `Adagrad`, `RowWiseAdagrad`, `ProximalAdagrad` or
   * `AdagradDA`): its options, slots and `getConfig()` (the rule's keys).
   */
  get adagrad(): AdagradBase<object> {
    return this.#inner;
  }

  /** Keras `learning_rate`: a number or a schedule; settable, used from the next step. */
  get learningRate(): number | LearningRateSchedule {
    return this.#inner.learningRate;
  }

  set learningRate(value: number | LearningRateSchedule) {
    this.#inner.learningRate = value;
  }

  /** Steps applied (Keras and TF.js `iterations`). */
  override get iterations(): number {
    return this.#inner.iterations;
  }

  /**
   * TF.js `applyGradients`: one step for every named gradient, given as a `NamedTensorMap`
   * (`{ [variableName]: gradient }`) or a `NamedTensor[]` (`[{ name, tensor }]`); variables are
   * TF.js's registered variables of those names. A missing (`null`) gradient skips its variable,
   * with Keras's warning. Synchronous, as TF.js expects; a rejection by the GPU, found later, is
   * thrown by the next call.
   *
   * @throws {TypeError} when the active backend is not WebGPU, a variable is unknown, lives on
   *   another device or backend, or a gradient is not a float32 tensor of its variable's shape
   * @throws {RangeError} when every gradient is missing
   */
  override applyGradients(
    variableGradients:
      | Record<string, TfjsGradient>
      | readonly { name: string; tensor: TfjsGradient }[],
  ): void {
    this.#assertUsable();
    const backend = this.#adopt();
    const named = namedGradients(variableGradients);
    // Every check first: nothing is uploaded, created or encoded before they all pass.
    const steps = named.map(({ name, gradient }) => {
      const variable = tf.engine().registeredVariables[name];
      if (variable === undefined) {
        throw new TypeError(`TfjsAdagrad: no TF.js variable is named '${name}'`);
      }
      this.#checkOwner(backend, variable, `variable '${name}'`);
      if (variable.dtype !== "float32") {
        throw new TypeError(`TfjsAdagrad: variable '${name}' is ${variable.dtype}; float32 only`);
      }
      const checked = checkedGradient(gradient, variable);
      if (checked instanceof tf.Tensor) this.#checkOwner(backend, checked, `gradient of '${name}'`);
      return { name, variable, gradient: checked };
    });
    const given = steps.filter((s) => s.gradient != null);
    if (given.length === 0 && steps.length > 0) {
      throw new RangeError(
        `No gradients provided for any variable: [${steps.map((s) => `'${s.name}'`).join(", ")}].`,
      );
    }
    const fresh = given.filter((s) => !this.#mirrors.has(s.name));
    this.#pending.check(fresh.map((s) => s.variable), [...this.#mirrors.keys()]);

    // Every check passed. Variables whose data other tensors share get data of their own (our
    // copy-out writes in place); TF.js's data goes to the GPU; its queued commands are submitted
    // ahead of ours.
    guardReads(backend);
    for (const s of given) ownData(backend, s.variable);
    const moves = given.map((s) => ({
      ...s,
      buffer: variableBuffer(backend, s.variable),
      bytes: s.variable.size * 4,
    }));
    // A missing gradient is passed on (for Keras's warning) only for a variable with a mirror.
    const pairs: GradientPair[] = steps
      .filter((s) => s.gradient != null || this.#mirrors.has(s.name))
      .map((s) => [
        s.gradient instanceof tf.Tensor ? this.#gradientSource(backend, s.gradient) : s.gradient,
        this.#mirror(s.name, s.variable),
      ]);
    flush(backend);
    this.#pending.restore(this.#inner, [...this.#mirrors.values()]);

    const outcome = submitStep(this.#inner, pairs, {
      hooks: {
        before: (encoder) => {
          for (const m of moves) {
            if (this.#inSync(m.name, m.variable, m.buffer)) continue;
            const mirror = this.#mirrors.get(m.name)!;
            encoder.copyBufferToBuffer(m.buffer, 0, mirror.buffer, mirror.offset, m.bytes);
          }
        },
        after: (encoder) => {
          for (const m of moves) {
            const mirror = this.#mirrors.get(m.name)!;
            encoder.copyBufferToBuffer(mirror.buffer, mirror.offset, m.buffer, 0, m.bytes);
          }
        },
      },
    });
    for (const m of moves) {
      dropCpuCopy(backend, m.variable);
      const writes = noteCopyOut(m.buffer);
      this.#synced.set(m.name, { dataId: m.variable.dataId, buffer: m.buffer, writes });
    }
    outcome.catch((e) => {
      this.#synced.clear(); // the command buffer may not have run: copy everything in next time
      this.#failure ??= e;
    });
  }

  /** Whether the variable's mirror holds its current value (see #synced). */
  #inSync(name: string, variable: tf.Variable, buffer: GPUBuffer): boolean {
    const s = this.#synced.get(name);
    return s !== undefined && s.dataId === variable.dataId && s.buffer === buffer &&
      s.writes === copyOutsOf(buffer);
  }

  /** A dense gradient tensor as the step takes it: its GPU buffer, or its CPU values. */
  #gradientSource(backend: WebGpuBackend, t: tf.Tensor): Gradient {
    const data = gpuData(backend, t);
    return "values" in data ? data.values : { buffer: data.buffer, offset: 0, size: t.size * 4 };
  }

  /** The variable's copy in the store, declared on its first gradient. */
  #mirror(name: string, variable: tf.Variable): Variable {
    let mirror = this.#mirrors.get(name);
    if (!mirror) {
      this.#store ??= new VariableStore(this.#device!, { label: "webgpu-adagrad tfjs" });
      mirror = this.#store.variable(name, variable.shape);
      this.#mirrors.set(name, mirror);
    }
    return mirror;
  }

  /**
   * The active WebGPU backend; the first call adopts its device, later ones must be on it (a new
   * backend on the same device, registered again, is fine).
   */
  #adopt(): WebGpuBackend {
    const backend = activeWebGpuBackend("TfjsAdagrad");
    if (this.#device !== null && backend.device !== this.#device) {
      throw new TypeError(
        "TfjsAdagrad: the active WebGPU backend is on another GPUDevice than the one this " +
          "optimizer trained on; its accumulators live there: switch back, or make a new optimizer",
      );
    }
    this.#device ??= backend.device;
    return backend;
  }

  #checkOwner(backend: WebGpuBackend, t: tf.Tensor, what: string): void {
    const owner = ownerOf(t);
    if (owner.backend === backend) return;
    const device = (owner.backend as { device?: unknown } | undefined)?.device;
    throw new TypeError(
      device !== undefined
        ? `TfjsAdagrad: ${what} lives on another GPUDevice (TF.js backend '${owner.name}'); ` +
          `create the model on the backend you train on, or put TF.js on one device with ` +
          `useDeviceForTfjs(device)`
        : `TfjsAdagrad: ${what} lives on TF.js's '${owner.name}' backend, not on the active ` +
          `WebGPU backend; create the model after \`await tf.setBackend("webgpu")\``,
    );
  }

  /**
   * TF.js `getWeights()`: `iter` (int32 scalar) first, then `<variable>/accumulator` for every
   * variable in the order of their first gradient, as `tf.train.adagrad` names them. Reads the
   * GPU; the tensors stay valid until the next `getWeights()` or `dispose()` (clone to keep them),
   * so that saving a model with `includeOptimizer` leaks nothing.
   */
  override async getWeights(): Promise<TfjsNamedTensor[]> {
    this.#assertUsable();
    const slots = this.#inner.weights.slice(1) as { name: string; shape: readonly number[] }[];
    const values = (await this.#inner.getWeights()).slice(1) as Float32Array[];
    tf.dispose(this.#lastWeights);
    // Accumulators restored by setWeights but not yet given to a variable (no step since a
    // model was loaded) are saved too, under their names.
    const named = [
      { name: "iter", tensor: tf.scalar(this.#inner.iterations, "int32") },
      ...slots.map((s, i) => ({ name: s.name, tensor: tf.tensor(values[i], [...s.shape]) })),
      ...this.#pending.entries.map((e) => ({
        name: e.name,
        tensor: tf.tensor(e.data, [...e.shape]),
      })),
    ];
    this.#lastWeights = named.map((n) => n.tensor);
    return named;
  }

  /**
   * TF.js `setWeights()`: `iter`, then accumulators named `<variable>/accumulator`. An accumulator
   * is matched to a variable by name, or else by position among the variables of the first step
   * (what `tf.train.adagrad` does, and what a reloaded model whose variables were renamed needs);
   * accumulators of variables the optimizer has not seen yet are kept until their first step.
   *
   * @throws {TypeError} when the list does not start with `iter` or an entry is not a tensor
   */
  override async setWeights(weightValues: TfjsNamedTensor[]): Promise<void> {
    this.#assertUsable();
    if (this.#inner.getSlotNames().length > 1) {
      throw new TypeError(
        `TfjsAdagrad.setWeights: optimizer '${this.#inner.name}' has slots ` +
          `${this.#inner.getSlotNames().join(", ")}; setWeights takes back accumulators only: ` +
          `use saveCheckpoint and restoreCheckpoint`,
      );
    }
    const [iter, ...rest] = this.#pending.parse(weightValues);
    const values = await Promise.all(rest.map(async (w) => ({
      name: w.name,
      shape: w.tensor.shape,
      data: new Float32Array(await w.tensor.data() as Float32Array),
    })));
    const iterations = Number((await iter.tensor.data())[0]);
    if (!Number.isSafeInteger(iterations) || iterations < 0) {
      throw new RangeError(`TfjsAdagrad.setWeights: 'iter' must be >= 0, got ${iterations}`);
    }
    this.#pending.verify(values, [...this.#mirrors.values()]);
    this.#pending.set(values);
    this.#inner.iterations = iterations;
    this.#pending.restore(this.#inner, [...this.#mirrors.values()]);
  }

  /**
   * The config, with the rule's keys as {@linkcode Adagrad.getConfig} writes them, plus `row_wise`
   * when set and `rule` for Keras 3's and PyTorch's rules; `model.save` stores it and
   * `TfjsAdagrad.fromConfig` reads it back.
   */
  override getConfig(): TfjsConfigDict {
    const config = this.#inner.getConfig() as unknown as tf.serialization.ConfigDict;
    if (this.#rowWise) return { ...config, row_wise: true };
    return this.#inner.rule === "keras2" ? { ...config } : { ...config, rule: this.#inner.rule };
  }

  /**
   * Rebuilds an optimizer from `getConfig()`'s output, in Keras's snake_case or in the camelCase
   * TF.js's model loader turns it into. TF.js's `(cls, config)` signature: use
   * `TfjsAdagrad.fromConfig(TfjsAdagrad, config)`; registered with
   * `tf.serialization.registerClass`, so loading a saved model restores the optimizer.
   */
  static override fromConfig<T extends TfjsSerializable>(
    cls: TfjsSerializableConstructor<T>,
    config: TfjsConfig,
  ): T {
    // tfjs-layers' loader adds `customObjects` to every config it deserializes.
    const { row_wise, rowWise, learningRate, learning_rate, customObjects: _, rule, ...rest } =
      config as Record<
        string,
        unknown
      >;
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
    const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    const keys = Object.fromEntries(Object.entries(rest).map(([k, v]) => [snake(k), v]));
    if (keys.lr !== undefined) keys.lr = pythonicSchedule(keys.lr);
    const lr = learning_rate ?? learningRate;
    if (lr !== undefined) keys.learning_rate = pythonicSchedule(lr);
    return new (cls as unknown as new (o: AdagradBase<object>) => T)(entry.fromConfig(keys));
  }

  /** Frees the accumulators, the working copies of the variables and every other GPU buffer. */
  override dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    tf.dispose(this.#lastWeights);
    this.#lastWeights = [];
    this.#inner.destroy();
    this.#store?.destroy();
  }

  #assertUsable(): void {
    if (this.#disposed) throw new TypeError("TfjsAdagrad: the optimizer was disposed");
    const failure = this.#failure;
    if (failure !== null) {
      this.#failure = null;
      throw failure;
    }
  }
}

tf.serialization.registerClass(TfjsAdagrad);
