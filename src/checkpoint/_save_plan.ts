// What a save writes, and where, decided before any tensor is read: saveCheckpoint (bytes in
// memory) and saveCheckpointFile (a file, streamed) both follow this plan, so their bytes are
// the same.
import { LossScaleOptimizer } from "../optimizers/loss_scale_optimizer.ts";
import { optimizerKind, ruleState } from "../optimizers/adagrad_base.ts";
import { Slot } from "../memory/slot.ts";
import { assertNoStepSince, checkTargets, innerOf, lossScaleTensors } from "./_checked_targets.ts";
import { encodeHeader, type TensorLayout } from "./_safetensors_header.ts";
import { readLossScale, targetDevice, type TensorTarget } from "./_tensor_io.ts";
import { CHECKPOINT_FORMAT, type CheckpointTargets } from "./checkpoint_targets.ts";

/** A tensor of the file: where it goes, and where its bytes come from (the GPU, or here). */
export interface SaveTensor extends TensorLayout {
  source: TensorTarget | Uint8Array;
}

/** The file's header, its tensors in file order, and the check that ends a save. */
export interface SavePlan {
  /** The file's first bytes: the header's length and the header. */
  header: Uint8Array;
  /** Bytes of tensor data after the header. */
  dataLength: number;
  tensors: SaveTensor[];
  /** Throws when a step ran since the plan was made (call it once every tensor is read). */
  assertNoStep(): void;
}

function f32(value: number): Uint8Array {
  return new Uint8Array(new Float32Array([value]).buffer);
}

function i64(value: number): Uint8Array {
  return new Uint8Array(new BigInt64Array([BigInt(value)]).buffer);
}

/**
 * Plans a save: every target checked (listed twice, destroyed, of a lost device: an error now,
 * before anything is read), every tensor's name, dtype, shape and byte range, the metadata. Reads
 * a dynamic loss scale's two numbers, in one readback.
 */
export async function planSave(
  targets: CheckpointTargets,
  metadata: Record<string, string>,
  caller: string,
): Promise<SavePlan> {
  checkTargets(targets, caller);
  const entries: {
    name: string;
    dtype: string;
    shape: readonly number[];
    source: SaveTensor["source"];
  }[] = targets.variables.map((v) => ({ name: v.name, dtype: "F32", shape: v.shape, source: v }));
  const meta: Record<string, string> = { ...metadata, format: CHECKPOINT_FORMAT };
  const optimizer = innerOf(targets.optimizer);
  let iterations = 0;
  if (optimizer) {
    const slots = optimizer.weights.filter((w): w is Slot => w instanceof Slot);
    for (const slot of slots) targetDevice(slot); // a destroyed optimizer says so now
    const state = ruleState(optimizer);
    iterations = state.calls; // the rule's own count (Keras 3's `iteration` counts calls too)
    // PyTorch's per-variable `step` (float32, as PyTorch keeps it), for variables with slots.
    const steps = !ruleState(optimizer).variableSteps ? [] : targets.variables.flatMap((v) => {
      const step = state.stepOf(v);
      return step === undefined ? [] : [{ name: `${v.name}/step`, step }];
    });
    const lossScale = lossScaleTensors(targets.optimizer);
    const { scale, goodSteps } = lossScale
      ? await readLossScale(lossScale.optimizer)
      : { scale: 0, goodSteps: 0 };
    const iter = `${optimizer.name}/${state.iterationsName}`;
    const names = new Set(entries.map((e) => e.name));
    const own = [iter, ...slots.map((s) => s.name), ...steps.map((s) => s.name)];
    for (const name of [...own, ...lossScale?.names ?? []]) {
      if (names.has(name)) throw new TypeError(`${caller}: two tensors would be named '${name}'`);
    }
    entries.push({ name: iter, dtype: "I64", shape: [], source: i64(iterations) });
    for (const s of slots) entries.push({ name: s.name, dtype: "F32", shape: s.shape, source: s });
    for (const { name, step } of steps) {
      entries.push({ name, dtype: "F32", shape: [], source: f32(step) });
    }
    if (lossScale) {
      const [scaleName, stepsName] = lossScale.names;
      entries.push({ name: scaleName, dtype: "F32", shape: [], source: f32(scale) });
      entries.push({ name: stepsName, dtype: "I64", shape: [], source: i64(goodSteps) });
    }
    meta.optimizer_class = optimizerKind(optimizer).variant.optimizerClass;
    meta.optimizer_rule = optimizer.rule;
    meta.optimizer_name = optimizer.name;
    meta.optimizer_config = JSON.stringify(optimizer.getConfig());
    if (targets.optimizer instanceof LossScaleOptimizer) {
      const { inner_optimizer: _, ...config } = targets.optimizer.getConfig();
      meta.loss_scale_config = JSON.stringify(config);
    }
  }
  const { bytes, layout, dataLength } = encodeHeader(entries, meta);
  return {
    header: bytes,
    dataLength,
    tensors: layout.map((t, i) => ({ ...t, source: entries[i].source })),
    assertNoStep: () => assertNoStepSince(optimizer, iterations, caller, false),
  };
}
