// What a restore writes, and where, decided from the header alone and checked whole before
// anything is written: restoreCheckpoint (bytes in memory) and restoreCheckpointFile (streamed
// from a file) both follow this plan, so they accept and refuse the same files.
import { type AdagradBase, optimizerKind, ruleState } from "../optimizers/adagrad_base.ts";
import { REGISTRY } from "../optimizers/registry.ts";
import { describe } from "../_common/validate.ts";
import { Slot } from "../memory/slot.ts";
import {
  assertNoStepSince,
  checkTargets,
  innerOf,
  lossScaleNames,
  lossScaleTensors,
} from "./_checked_targets.ts";
import type { SafetensorsHeader, TensorLayout } from "./_safetensors_header.ts";
import { type TensorTarget, writeLossScale } from "./_tensor_io.ts";
import {
  CHECKPOINT_FORMAT,
  type CheckpointTargets,
  type RestoreOptions,
} from "./checkpoint_targets.ts";

/** A float32 tensor of the file and where it goes (a slot is made when the plan is carried out). */
export interface RestoreTensor {
  layout: TensorLayout;
  target: () => TensorTarget;
}

/** The GPU tensors to write, in file order, and what follows them. */
export interface RestorePlan {
  tensors: RestoreTensor[];
  /**
   * After the tensors: sets the iteration count and the loss scale. Throws instead, changing
   * neither, when a step ran since the plan was made (a streamed restore awaits between writes).
   */
  finish(): void;
}

/** Checks what a restore is given (before any file is opened); returns the settings mode. */
export function checkRestore(
  targets: CheckpointTargets,
  options: unknown,
  caller: string,
): "refuse" | "keep" {
  checkTargets(targets, caller);
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`${caller}: options must be an object, got ${describe(options)}`);
  }
  const unknown = Object.keys(options).filter((k) => k !== "settings");
  if (unknown.length > 0) {
    throw new TypeError(`${caller}: unknown option '${unknown[0]}'; the option is settings`);
  }
  const { settings = "refuse" } = options as RestoreOptions;
  if (settings !== "refuse" && settings !== "keep") {
    throw new TypeError(
      `${caller}: settings must be "refuse" or "keep", got ${describe(settings)}`,
    );
  }
  return settings;
}

/** How the caller may read the bytes of a scalar tensor (the iteration count, the loss scale). */
export type ScalarBytes = (name: string) => Uint8Array;

/**
 * Plans a restore: the file's format, every variable present with its shape and dtype, every
 * slot of a listed variable with the shape the optimizer needs, no tensor left unclaimed, the
 * optimizer's class and settings, the counters in range. Any misfit is a TypeError naming it.
 *
 * @param adopt how the caller would build an optimizer from the saved settings, for the error
 */
export function planRestore(
  file: SafetensorsHeader,
  scalar: ScalarBytes,
  targets: CheckpointTargets,
  settings: "refuse" | "keep",
  caller: string,
  adopt: string,
): RestorePlan {
  const fail = (why: string) => new TypeError(`${caller}: ${why}`);
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
    return t;
  };
  const int64 = (name: string) => Number(new BigInt64Array(scalar(name).slice().buffer)[0]);
  const tensors: RestoreTensor[] = [];
  for (const v of targets.variables) {
    tensors.push({ layout: take(v.name, "F32", v.shape, `variable '${v.name}'`), target: () => v });
  }
  const opt = innerOf(targets.optimizer);
  let counters = () => {};
  if (opt) {
    checkSettings(opt, file.metadata, settings, fail, adopt);
    const state = ruleState(opt);
    const iterName =
      take(`${opt.name}/${state.iterationsName}`, "I64", [], `optimizer '${opt.name}'`)
        .name;
    const iterations = int64(iterName);
    if (!Number.isSafeInteger(iterations) || iterations < 0) {
      throw fail(`the iteration count ${iterations} is not a non-negative integer`);
    }
    const variant = optimizerKind(opt).variant;
    const slotNames = opt.getSlotNames();
    const steps: (() => void)[] = [];
    for (const v of targets.variables) {
      // A variable's slots are made together: all saved, or none (never updated when saved).
      if (!slotNames.some((slot) => file.tensors.has(`${v.name}/${slot}`))) continue;
      const shape = variant.slotShape(v.shape);
      for (const slot of slotNames) {
        const layout = take(`${v.name}/${slot}`, "F32", shape, `the ${slot} of '${v.name}'`);
        tensors.push({ layout, target: () => opt.addSlot(v, slot) });
      }
      if (state.variableSteps) {
        const name = take(`${v.name}/step`, "F32", [], `the step of '${v.name}'`).name;
        const step = new Float32Array(scalar(name).slice().buffer)[0];
        if (!Number.isSafeInteger(step) || step < 0) {
          throw fail(`the step ${step} of '${v.name}' is not a non-negative integer`);
        }
        steps.push(() => state.setStep(v, step));
      }
    }
    for (const w of opt.weights) {
      if (!(w instanceof Slot) || w.variableName !== "") continue; // addWeight weights
      tensors.push({
        layout: take(w.name, "F32", w.shape, `optimizer weight '${w.name}'`),
        target: () => w,
      });
    }
    // A dynamic scale's weights: restored when the target has one, and otherwise left alone, as
    // Keras loads an inner optimizer's checkpoint into a LossScaleOptimizer and the other way.
    const lossScale = lossScaleTensors(targets.optimizer);
    const [scaleName, stepsName] = lossScale?.names ?? lossScaleNames(opt.name);
    let setScale = () => {};
    if (lossScale && file.tensors.has(scaleName) && file.tensors.has(stepsName)) {
      take(scaleName, "F32", [], "the loss scale");
      take(stepsName, "I64", [], "the loss scale's counter");
      const scale = new Float32Array(scalar(scaleName).slice().buffer)[0];
      const goodSteps = int64(stepsName);
      if (!(scale > 0 && scale < Infinity) || !(goodSteps >= 0 && goodSteps <= 0xffffffff)) {
        throw fail(`the loss scale ${scale} or its counter ${goodSteps} is out of range`);
      }
      setScale = () => writeLossScale(lossScale.optimizer, scale, goodSteps);
    } else if (!lossScale) {
      unclaimed.delete(scaleName);
      unclaimed.delete(stepsName);
    }
    counters = () => {
      state.calls = iterations;
      for (const setStep of steps) setStep();
      setScale();
    };
  }
  if (unclaimed.size > 0) {
    throw fail(
      `the checkpoint holds tensors nothing here claims: ${[...unclaimed].join(", ")} (list ` +
        `their variables, or the optimizer that owns them)`,
    );
  }
  tensors.sort((a, b) => a.layout.begin - b.layout.begin);
  const before = opt ? ruleState(opt).calls : 0;
  return {
    tensors,
    finish: () => {
      assertNoStepSince(opt, before, caller, true);
      counters();
    },
  };
}

/** The registered rule `rule` of class `className` (any class's, for a rule id alone). */
function registered(className: string | undefined, rule: string) {
  return REGISTRY.find((r) => r.rule.id === rule && (!className || r.className === className));
}

/** The optimizer's class, and its settings unless told to keep them, against the saved ones. */
function checkSettings(
  opt: AdagradBase<object>,
  metadata: Record<string, string>,
  settings: "refuse" | "keep",
  fail: (why: string) => TypeError,
  adopt: string,
): void {
  const savedClass = metadata.optimizer_class;
  const ownClass = optimizerKind(opt).variant.optimizerClass;
  const own = optimizerKind(opt).rule;
  const ownFactory = registered(ownClass, own.id)?.fromConfigName ?? "fromConfig";
  if (savedClass !== undefined && savedClass !== ownClass) {
    const a = (name: string) => `${/^[AEIOU]/.test(name) ? "an" : "a"} ${name}`;
    // Adagrad's rules each have their own factory (keras3FromConfig, torchFromConfig).
    const factory = registered(savedClass, metadata.optimizer_rule ?? "keras2")?.fromConfigName ??
      "fromConfig";
    throw fail(
      `the checkpoint holds ${a(savedClass)}'s state, not ${a(ownClass)}'s; build ${
        a(savedClass)
      } from its saved settings (${savedClass}.${factory}(${adopt}))`,
    );
  }
  // Checkpoints from before the rules hold Keras 2's.
  const savedRule = metadata.optimizer_rule ?? "keras2";
  if (savedRule !== opt.rule) {
    const entry = registered(ownClass, savedRule) ?? registered(undefined, savedRule);
    const saved = entry?.rule.framework ?? `rule '${savedRule}'`;
    throw fail(
      `the checkpoint holds the state of ${saved}'s Adagrad, and optimizer '${opt.name}' ` +
        `follows ${own.framework}: their slots and counters differ; build an optimizer of the ` +
        `saved rule (${entry?.className ?? ownClass}.${
          entry?.fromConfigName ?? "fromConfig"
        }(${adopt}))`,
    );
  }
  const saved = metadata.optimizer_config;
  const differences = saved === undefined ? [] : settingsDiffer(opt.getConfig(), saved);
  if (settings === "refuse" && differences.length > 0) {
    throw fail(
      `optimizer '${opt.name}' has other settings than the checkpoint's: ` +
        `${differences.join("; ")}. Pass { settings: "keep" } to keep this optimizer's (as ` +
        `Keras's load_weights does), or build the optimizer from the saved ones: ` +
        `${ownClass}.${ownFactory}(${adopt})`,
    );
  }
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
