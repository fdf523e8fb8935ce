/**
 * Keras's Adagrad (`tf.keras.optimizers.Adagrad`, TF 2.4-2.10) on WebGPU: a fused WGSL update over
 * variables packed into a few large GPU buffers, so that one step is one submit and one dispatch
 * per arena whatever the number of variables, with nothing read back to the CPU.
 *
 * @example
 * ```ts
 * import { Adagrad, requestDevice, VariableStore } from "@webgpu-adagrad/core";
 *
 * // navigator.gpu's adapter, a device on it. Node has no navigator.gpu of its own: there, import
 * // "webgpu-adagrad/node" (JSR: "@webgpu-adagrad/core/node") first.
 * const device = await requestDevice();
 * const store = new VariableStore(device);
 * const w = store.variable("dense/kernel", [2], new Float32Array([1, 2]));
 * const opt = new Adagrad({ learningRate: 3.0 });
 * // Your shaders would write w.grad; here the gradient comes from the CPU.
 * await opt.applyGradients([[new Float32Array([0.1, 0.1]), w]]);
 * console.log(await w.read()); // ≈ [0.0954662, 1.0954662]
 * device.destroy();
 * ```
 *
 * @module
 */
export { IndexedSlices, type SlicesData } from "./src/sparse/indexed_slices.ts";
export { Adagrad } from "./src/optimizers/adagrad.ts";
export { AdagradBase } from "./src/optimizers/adagrad_base.ts";
export { RowWiseAdagrad } from "./src/optimizers/row_wise_adagrad.ts";
export type { RowWiseAdagradConfig, RowWiseAdagradOptions } from "./src/rules/row_wise.ts";
export { ProximalAdagrad } from "./src/optimizers/proximal_adagrad.ts";
export { AdagradDA } from "./src/optimizers/adagrad_da.ts";
export type { AdagradDAConfig, AdagradDAOptions } from "./src/rules/adagrad_da.ts";
export type { ProximalAdagradConfig, ProximalAdagradOptions } from "./src/rules/proximal.ts";
export type { ProximalFamilyConfig, ProximalFamilyOptions } from "./src/rules/_tf_proximal.ts";
export { LossScaleOptimizer } from "./src/optimizers/loss_scale_optimizer.ts";
export type { LossScaleOptions } from "./src/optimizers/loss_scale_options.ts";
export type { LossScaleConfig } from "./src/optimizers/loss_scale_config.ts";
export type { ApplyScaledOptions } from "./src/optimizers/loss_scaling.ts";
export { requestDevice, type RequestDeviceOptions } from "./src/device/request_device.ts";
export type { AdagradConfig, AdagradOptions } from "./src/rules/keras2.ts";
export type { RuleId } from "./src/optimizers/registry.ts";
export type { Keras3AdagradConfig, Keras3AdagradOptions } from "./src/rules/keras3.ts";
export type { TorchAdagradConfig, TorchAdagradOptions } from "./src/rules/torch.ts";
export type { OptaxAdagradConfig, OptaxAdagradOptions } from "./src/rules/optax.ts";
export { BufferRegion, type RegionDtype } from "./src/memory/buffer_region.ts";
export { DeviceLostError } from "./src/device/device_lost.ts";
export {
  CHECKPOINT_FORMAT,
  type CheckpointTargets,
  restoreCheckpoint,
  type RestoreOptions,
  saveCheckpoint,
  savedOptimizerConfig,
} from "./src/checkpoint/checkpoint.ts";
export {
  type FrameworkStateTargets,
  importFrameworkState,
} from "./src/checkpoint/framework_state.ts";
export { restoreNonZeroRows, saveNonZeroRows } from "./src/checkpoint/non_zero_rows.ts";
export {
  restoreCheckpointFile,
  saveCheckpointFile,
  savedOptimizerConfigFile,
  writeFileAtomic,
} from "./src/checkpoint/checkpoint_file.ts";
export {
  decodeSafetensors,
  encodeSafetensors,
  type SafetensorsEntry,
  type SafetensorsFile,
} from "./src/checkpoint/safetensors.ts";
export { LearningRateSchedule } from "./src/schedules/learning_rate_schedule.ts";
export { KerasSchedule } from "./src/schedules/keras_schedule.ts";
export { DecayRateSchedule } from "./src/schedules/decay_rate_schedule.ts";
export { ExponentialDecay } from "./src/schedules/exponential_decay.ts";
export { PiecewiseConstantDecay } from "./src/schedules/piecewise_constant_decay.ts";
export { PolynomialDecay } from "./src/schedules/polynomial_decay.ts";
export { InverseTimeDecay } from "./src/schedules/inverse_time_decay.ts";
export { CosineDecay, CosineDecayRestarts } from "./src/schedules/cosine_decay.ts";
export {
  deserializeSchedule,
  type SerializedSchedule,
  serializeSchedule,
} from "./src/schedules/schedule_serialization.ts";
export { type IterationsWeight, Slot } from "./src/memory/slot.ts";
export type { NumberFormat } from "./src/_common/number_format.ts";
export type { ExternalVariable, GpuBinding, VariableRef } from "./src/memory/gpu_binding.ts";
export type { Gradient, GradientPair } from "./src/optimizers/gradients.ts";
export { Variable, type VariableWindow } from "./src/memory/variable.ts";
export { VariableStore, type VariableStoreOptions } from "./src/memory/variable_store.ts";
