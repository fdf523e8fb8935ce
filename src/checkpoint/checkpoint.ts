import { decodeSafetensors } from "./safetensors.ts";
import { splitSafetensors } from "./_safetensors_header.ts";
import { allocateCheckpoint } from "./_checkpoint_bytes.ts";
import { planSave } from "./_save_plan.ts";
import { checkRestore, planRestore } from "./_restore_plan.ts";
import { restoreFromBytes, streamSave } from "./_streaming.ts";
import type { CheckpointTargets, RestoreOptions } from "./checkpoint_targets.ts";

export {
  CHECKPOINT_FORMAT,
  type CheckpointTargets,
  type RestoreOptions,
} from "./checkpoint_targets.ts";

/**
 * Saves variables and the optimizer's whole state as a safetensors file, keyed by name: every
 * variable (`"dense/kernel"`), the iteration count (`"Adagrad/iter"`, int64), every slot
 * (`"dense/kernel/accumulator"`) and `addWeight` weight; the optimizer's class and config in the
 * metadata. Other tools read it as any safetensors file. The tensors are read back from the GPU
 * in windows of 16 MiB, straight into the returned bytes; for a model too large for memory, or
 * for one `Uint8Array`, stream it to a file with {@linkcode saveCheckpointFile}.
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
 * @throws {RangeError} when the checkpoint is larger than this runtime's largest `Uint8Array` (4 GiB
 *   on Node 20 and Bun), before anything is read
 * @throws {Error} when the optimizer took a step while the tensors were read (await the save
 *   before the next step)
 */
export async function saveCheckpoint(
  targets: CheckpointTargets,
  metadata: Record<string, string> = {},
): Promise<Uint8Array> {
  const plan = await planSave(targets, metadata, "saveCheckpoint");
  const bytes = allocateCheckpoint(plan.header.length + plan.dataLength, "saveCheckpoint");
  bytes.set(plan.header);
  const data = bytes.subarray(plan.header.length);
  await streamSave(plan, {
    window: (start, length) => data.subarray(start, start + length), // read in place
    flush: () => {},
  }, "saveCheckpoint");
  plan.assertNoStep();
  return bytes;
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
  const settings = checkRestore(targets, options, "restoreCheckpoint");
  const { header, data } = splitSafetensors(bytes);
  const scalar = (name: string) => {
    const { begin, end } = header.tensors.get(name)!;
    return data.subarray(begin, end);
  };
  const plan = planRestore(
    header,
    scalar,
    targets,
    settings,
    "restoreCheckpoint",
    "savedOptimizerConfig(bytes)",
  );
  restoreFromBytes(plan, data);
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
