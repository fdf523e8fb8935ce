import { Adagrad, ruleState } from "../optimizers/adagrad.ts";
import type { RuleId } from "../optimizers/adagrad_config.ts";
import { LossScaleOptimizer, readLossScaleState } from "../optimizers/loss_scale_optimizer.ts";
import { variantOf } from "../_step/variant.ts";
import { describe } from "../_common/validate.ts";
import { decodeSafetensors, encodeSafetensors, type SafetensorsEntry } from "./safetensors.ts";
import { Slot } from "../memory/slot.ts";
import { arenaOf, Variable } from "../memory/variable.ts";

/**
 * How {@linkcode restoreCheckpoint} treats an optimizer whose settings differ from the ones saved
 * with the checkpoint.
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

/** The format name written to a checkpoint's metadata. */
export const CHECKPOINT_FORMAT = "webgpu-adagrad/1";

/** What a checkpoint holds: variables, and optionally an optimizer's state. */
export interface CheckpointTargets {
  /** Store variables, saved under their names (`"dense/kernel"`). */
  variables: readonly Variable[];
  /**
   * The optimizer: its iteration count (`"<name>/iter"`, int64) and every slot and weight under
   * its Keras name (`"dense/kernel/accumulator"`); its config goes to the metadata. For a
   * {@linkcode LossScaleOptimizer}, its inner optimizer's state, and a dynamic scale's Keras
   * weights `"<name>/loss_scale/current_loss_scale"` (float32) and `".../good_steps"` (int64).
   */
  optimizer?: Adagrad<object> | LossScaleOptimizer<object>;
}

function f32(data: Float32Array, shape: readonly number[]): SafetensorsEntry {
  return {
    dtype: "F32",
    shape: [...shape],
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

function f32Scalar(value: number): SafetensorsEntry {
  return f32(new Float32Array([value]), []);
}

/** Which framework each rule follows, and how to build an optimizer of it from a config. */
const RULE_NAMES: Record<RuleId, { framework: string; fromConfig: string }> = {
  keras2: { framework: "Keras 2 (tf.keras.optimizers.Adagrad)", fromConfig: "fromConfig" },
  keras3: { framework: "Keras 3 (keras.optimizers.Adagrad)", fromConfig: "keras3FromConfig" },
  torch: { framework: "PyTorch (torch.optim.Adagrad)", fromConfig: "torchFromConfig" },
};

function i64(value: number): SafetensorsEntry {
  const data = new Uint8Array(new BigInt64Array([BigInt(value)]).buffer);
  return { dtype: "I64", shape: [], data };
}

/** The optimizer whose slots a checkpoint holds: a LossScaleOptimizer's inner one. */
function innerOf(
  opt: Adagrad<object> | LossScaleOptimizer<object> | undefined,
): Adagrad<object> | undefined {
  return opt instanceof LossScaleOptimizer ? opt.innerOptimizer : opt;
}

/** Keras's names of a dynamic loss scale's weights, under the optimizer's name. */
function lossScaleNames(name: string): [string, string] {
  return [`${name}/loss_scale/current_loss_scale`, `${name}/loss_scale/good_steps`];
}

/** A dynamic LossScaleOptimizer and its weights' names; a fixed scale has no weights. */
function lossScaleTensors(opt: Adagrad<object> | LossScaleOptimizer<object> | undefined) {
  if (!(opt instanceof LossScaleOptimizer) || !opt.dynamic) return null;
  return { optimizer: opt, names: lossScaleNames(opt.innerOptimizer.name) };
}

function checkTargets(targets: CheckpointTargets, what: string): void {
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
  if (opt !== undefined && !(opt instanceof Adagrad) && !(opt instanceof LossScaleOptimizer)) {
    throw new TypeError(
      `${what}: optimizer must be an Adagrad or a LossScaleOptimizer, got ${describe(opt)}`,
    );
  }
}

/**
 * Saves variables and the optimizer's whole state as a safetensors file, keyed by name: every
 * variable (`"dense/kernel"`), the iteration count (`"Adagrad/iter"`, int64), every slot
 * (`"dense/kernel/accumulator"`) and `addWeight` weight; the optimizer's class and config in the
 * metadata. Reads the GPU once per tensor. Other tools read it as any safetensors file.
 *
 * @example
 * ```ts
 * import { Adagrad, restoreCheckpoint, saveCheckpoint, VariableStore } from "@webgpu-adagrad/core";
 *
 * const adapter = await navigator.gpu.requestAdapter();
 * const device = await adapter!.requestDevice();
 * const store = new VariableStore(device);
 * const w = store.variable("dense/kernel", [2], new Float32Array([1, 2]));
 * const opt = new Adagrad({ learningRate: 0.1 });
 * await opt.applyGradients([[new Float32Array([0.5, 0.5]), w]]);
 * const bytes = await saveCheckpoint({ variables: [w], optimizer: opt });
 * // ... later, or on another device, with the same names:
 * restoreCheckpoint(bytes, { variables: [w], optimizer: opt });
 * device.destroy();
 * ```
 *
 * @throws {TypeError} for variables listed twice, of a destroyed store, or not Variables
 */
export async function saveCheckpoint(
  targets: CheckpointTargets,
  metadata: Record<string, string> = {},
): Promise<Uint8Array> {
  checkTargets(targets, "saveCheckpoint");
  const { variables } = targets;
  const optimizer = innerOf(targets.optimizer);
  const lossScale = lossScaleTensors(targets.optimizer);
  const tensors = new Map<string, SafetensorsEntry>();
  const values = await Promise.all(variables.map((v) => v.read()));
  variables.forEach((v, i) => tensors.set(v.name, f32(values[i], v.shape)));
  const meta: Record<string, string> = { ...metadata, format: CHECKPOINT_FORMAT };
  if (optimizer) {
    const state = ruleState(optimizer);
    const iter = `${optimizer.name}/${state.iterationsName}`;
    const slots = optimizer.weights.filter((w): w is Slot => w instanceof Slot);
    // PyTorch's per-variable `step` (float32, as PyTorch keeps it), for variables with slots.
    const steps = optimizer.rule !== "torch" ? [] : variables.flatMap((v) => {
      const step = state.stepOf(v);
      return step === undefined ? [] : [{ name: `${v.name}/step`, step }];
    });
    const slotValues = await Promise.all(slots.map((s) => s.read()));
    // One readback for both, so that no step can fall between them.
    const { scale, goodSteps } = lossScale
      ? await readLossScaleState(lossScale.optimizer)
      : { scale: 0, goodSteps: 0 };
    const names = [iter, ...slots.map((s) => s.name), ...steps.map((s) => s.name)];
    for (const name of [...names, ...lossScale?.names ?? []]) {
      if (tensors.has(name)) {
        throw new TypeError(`saveCheckpoint: two tensors would be named '${name}'`);
      }
    }
    tensors.set(iter, i64(state.calls));
    slots.forEach((s, i) => tensors.set(s.name, f32(slotValues[i], s.shape)));
    for (const { name, step } of steps) tensors.set(name, f32Scalar(step));
    if (lossScale) {
      tensors.set(lossScale.names[0], f32(new Float32Array([scale]), []));
      tensors.set(lossScale.names[1], i64(goodSteps));
    }
    meta.optimizer_class = variantOf(optimizer.constructor).optimizerClass;
    meta.optimizer_rule = optimizer.rule;
    meta.optimizer_name = optimizer.name;
    meta.optimizer_config = JSON.stringify(optimizer.getConfig());
    if (targets.optimizer instanceof LossScaleOptimizer) {
      const { inner_optimizer: _, ...config } = targets.optimizer.getConfig();
      meta.loss_scale_config = JSON.stringify(config);
    }
  }
  return encodeSafetensors(tensors, meta);
}

/**
 * Restores what {@linkcode saveCheckpoint} saved into `targets`, by name (the writes are queued on
 * the device, ahead of any later step). Everything is checked
 * first (the file's format, every variable present with its shape and dtype, every slot of a
 * listed variable with the shape the optimizer needs, no tensor left unclaimed, the optimizer's
 * class), and only then is anything written: a failed restore changes no variable, slot or
 * counter. Slots that do not exist yet are created (`addSlot`). The target may live on another
 * device than the one that saved it.
 *
 * @example
 * ```ts ignore
 * const bytes = await Deno.readFile("run.safetensors");
 * restoreCheckpoint(bytes, { variables: store.variables, optimizer: opt });
 * ```
 *
 * @throws {TypeError} for a malformed file or any name, shape or dtype that does not match
 */
export function restoreCheckpoint(
  bytes: Uint8Array,
  targets: CheckpointTargets,
  options: RestoreOptions = {},
): void {
  checkTargets(targets, "restoreCheckpoint");
  const settings = checkRestoreOptions(options);
  const file = decodeSafetensors(bytes);
  const fail = (why: string) => new TypeError(`restoreCheckpoint: ${why}`);
  if (file.metadata.format !== CHECKPOINT_FORMAT) {
    throw fail(`not a ${CHECKPOINT_FORMAT} checkpoint (format ${file.metadata.format})`);
  }
  const unclaimed = new Set(file.tensors.keys());
  const take = (name: string, dtype: string, shape: readonly number[], what: string) => {
    const t = file.tensors.get(name);
    if (!t) throw fail(`the checkpoint has no tensor '${name}' (${what})`);
    const same = t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]);
    if (t.dtype !== dtype || !same) {
      throw fail(
        `tensor '${name}' is ${t.dtype} [${t.shape.join(", ")}], but ${what} needs ${dtype} ` +
          `[${shape.join(", ")}]`,
      );
    }
    unclaimed.delete(name);
    return t.data;
  };
  const floats = (data: Uint8Array) => new Float32Array(data.slice().buffer);
  const writes: (() => void)[] = [];
  for (const v of targets.variables) {
    const data = floats(take(v.name, "F32", v.shape, `variable '${v.name}'`));
    writes.push(() => v.write(data));
  }
  const opt = innerOf(targets.optimizer);
  if (opt) {
    const savedClass = file.metadata.optimizer_class;
    const ownClass = variantOf(opt.constructor).optimizerClass;
    if (savedClass !== undefined && savedClass !== ownClass) {
      throw fail(`the checkpoint holds a ${savedClass}'s state, not a ${ownClass}'s`);
    }
    // Checkpoints from before the rules hold Keras 2's.
    const savedRule = (file.metadata.optimizer_rule ?? "keras2") as RuleId;
    if (savedRule !== opt.rule) {
      const saved = RULE_NAMES[savedRule]?.framework ?? `rule '${savedRule}'`;
      throw fail(
        `the checkpoint holds the state of ${saved}'s Adagrad, and optimizer '${opt.name}' ` +
          `follows ${RULE_NAMES[opt.rule].framework}: their slots and counters differ; build ` +
          `an optimizer of the saved rule (${ownClass}.${
            RULE_NAMES[savedRule]?.fromConfig ?? "fromConfig"
          }(savedOptimizerConfig(bytes)))`,
      );
    }
    const saved = file.metadata.optimizer_config;
    const differences = saved === undefined ? [] : settingsDiffer(opt.getConfig(), saved);
    if (settings === "refuse" && differences.length > 0) {
      throw fail(
        `optimizer '${opt.name}' has other settings than the checkpoint's: ` +
          `${differences.join("; ")}. Pass { settings: "keep" } to keep this optimizer's (as ` +
          `Keras's load_weights does), or build the optimizer from the saved ones: ` +
          `${ownClass}.${RULE_NAMES[opt.rule].fromConfig}(savedOptimizerConfig(bytes))`,
      );
    }
    const state = ruleState(opt);
    const iterName = `${opt.name}/${state.iterationsName}`;
    const iter = take(iterName, "I64", [], `optimizer '${opt.name}'`);
    const iterations = Number(new BigInt64Array(iter.slice().buffer)[0]);
    if (!Number.isSafeInteger(iterations) || iterations < 0) {
      throw fail(`the iteration count ${iterations} is not a non-negative integer`);
    }
    const variant = variantOf(opt.constructor);
    const slotNames = opt.getSlotNames();
    for (const v of targets.variables) {
      // A variable's slots are made together: all saved, or none (never updated when saved).
      if (!slotNames.some((slot) => file.tensors.has(`${v.name}/${slot}`))) continue;
      const shape = variant.slotShape(v.shape);
      for (const slot of slotNames) {
        const data = floats(take(`${v.name}/${slot}`, "F32", shape, `the ${slot} of '${v.name}'`));
        writes.push(() => opt.addSlot(v, slot).write(data));
      }
      if (opt.rule === "torch") {
        const step = floats(take(`${v.name}/step`, "F32", [], `the step of '${v.name}'`))[0];
        if (!Number.isSafeInteger(step) || step < 0) {
          throw fail(`the step ${step} of '${v.name}' is not a non-negative integer`);
        }
        writes.push(() => state.setStep(v, step));
      }
    }
    for (const w of opt.weights) {
      if (!(w instanceof Slot) || w.variableName !== "") continue; // addWeight weights
      const data = floats(take(w.name, "F32", w.shape, `optimizer weight '${w.name}'`));
      writes.push(() => w.write(data));
    }
    writes.push(() => state.calls = iterations);
    // A dynamic scale's weights: restored when the target has one, and otherwise left alone, as
    // Keras loads an inner optimizer's checkpoint into a LossScaleOptimizer and the other way.
    const lossScale = lossScaleTensors(targets.optimizer);
    const [scaleName, stepsName] = lossScale?.names ?? lossScaleNames(opt.name);
    if (lossScale && file.tensors.has(scaleName) && file.tensors.has(stepsName)) {
      const scale = floats(take(scaleName, "F32", [], "the loss scale"))[0];
      const steps = take(stepsName, "I64", [], "the loss scale's counter");
      const goodSteps = Number(new BigInt64Array(steps.slice().buffer)[0]);
      if (!(scale > 0 && scale < Infinity) || !(goodSteps >= 0 && goodSteps <= 0xffffffff)) {
        throw fail(`the loss scale ${scale} or its counter ${goodSteps} is out of range`);
      }
      writes.push(() => lossScale.optimizer.setLossScale(scale, goodSteps));
    } else if (!lossScale) {
      unclaimed.delete(scaleName);
      unclaimed.delete(stepsName);
    }
  }
  if (unclaimed.size > 0) {
    throw fail(
      `the checkpoint holds tensors nothing here claims: ${[...unclaimed].join(", ")} (list ` +
        `their variables, or the optimizer that owns them)`,
    );
  }
  for (const write of writes) write();
}

/**
 * The optimizer's config saved with a checkpoint (its `getConfig()` then), or null when the
 * checkpoint holds no optimizer. To adopt the saved settings, as PyTorch's `load_state_dict` does,
 * build the optimizer from it and restore into that one.
 *
 * @example
 * ```ts ignore
 * const opt = Adagrad.fromConfig(savedOptimizerConfig(bytes)!);
 * restoreCheckpoint(bytes, { variables: store.variables, optimizer: opt });
 * ```
 */
export function savedOptimizerConfig(bytes: Uint8Array): Record<string, unknown> | null {
  const config = decodeSafetensors(bytes).metadata.optimizer_config;
  return config === undefined ? null : JSON.parse(config);
}

function checkRestoreOptions(options: unknown): "refuse" | "keep" {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`restoreCheckpoint: options must be an object, got ${describe(options)}`);
  }
  const unknown = Object.keys(options).filter((k) => k !== "settings");
  if (unknown.length > 0) {
    throw new TypeError(
      `restoreCheckpoint: unknown option '${unknown[0]}'; the option is settings`,
    );
  }
  const { settings = "refuse" } = options as RestoreOptions;
  if (settings !== "refuse" && settings !== "keep") {
    throw new TypeError(
      `restoreCheckpoint: settings must be "refuse" or "keep", got ${describe(settings)}`,
    );
  }
  return settings;
}

/** Each setting (config key, the name aside) whose value here differs from the saved one. */
function settingsDiffer(current: object, savedJson: string): string[] {
  const saved = JSON.parse(savedJson) as Record<string, unknown>;
  const here = current as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(here), ...Object.keys(saved)])].sort();
  const text = (x: unknown) => x === undefined ? "unset" : canonical(x);
  return keys
    .filter((k) => k !== "name" && canonical(here[k]) !== canonical(saved[k]))
    .map((k) => `${k} ${text(here[k])} here, ${text(saved[k])} saved`);
}

/** JSON with sorted keys, so that equal configs compare equal whatever their key order. */
function canonical(x: unknown): string {
  return JSON.stringify(
    x,
    (_, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a < b ? -1 : 1))
        : v,
  ) ?? "undefined";
}
