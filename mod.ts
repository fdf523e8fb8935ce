/**
 * Keras's Adagrad (`tf.keras.optimizers.Adagrad`, TF 2.4-2.10) on WebGPU: a fused WGSL update over
 * variables packed into a few large GPU buffers, so that one step is one submit and one dispatch
 * per arena whatever the number of variables, with nothing read back to the CPU.
 *
 * @example
 * ```ts
 * import { Adagrad, VariableStore } from "@webgpu-adagrad/core";
 *
 * const adapter = await navigator.gpu.requestAdapter();
 * const device = await adapter!.requestDevice();
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
export { IndexedSlices, type SlicesData } from "./src/indexed_slices.ts";
export { Adagrad } from "./src/adagrad.ts";
export { RowWiseAdagrad } from "./src/row_wise_adagrad.ts";
export {
  type ApplyScaledOptions,
  type LossScaleConfig,
  LossScaleOptimizer,
  type LossScaleOptions,
} from "./src/loss_scale_optimizer.ts";
export { requestDevice, type RequestDeviceOptions } from "./src/request_device.ts";
export type { AdagradConfig, AdagradOptions } from "./src/adagrad_config.ts";
export { BufferRegion } from "./src/buffer_region.ts";
export { DeviceLostError } from "./src/device_lost.ts";
export {
  CHECKPOINT_FORMAT,
  type CheckpointTargets,
  restoreCheckpoint,
  saveCheckpoint,
} from "./src/checkpoint.ts";
export {
  restoreCheckpointFile,
  saveCheckpointFile,
  writeFileAtomic,
} from "./src/checkpoint_file.ts";
export {
  decodeSafetensors,
  encodeSafetensors,
  type SafetensorsEntry,
  type SafetensorsFile,
} from "./src/safetensors.ts";
export { LearningRateSchedule } from "./src/learning_rate_schedule.ts";
export { KerasSchedule } from "./src/keras_schedule.ts";
export { DecayRateSchedule } from "./src/decay_rate_schedule.ts";
export { ExponentialDecay } from "./src/exponential_decay.ts";
export { PiecewiseConstantDecay } from "./src/piecewise_constant_decay.ts";
export { PolynomialDecay } from "./src/polynomial_decay.ts";
export { InverseTimeDecay } from "./src/inverse_time_decay.ts";
export { CosineDecay, CosineDecayRestarts } from "./src/cosine_decay.ts";
export {
  deserializeSchedule,
  type SerializedSchedule,
  serializeSchedule,
} from "./src/schedule_serialization.ts";
export { type IterationsWeight, Slot } from "./src/slot.ts";
export type {
  ExternalVariable,
  GpuBinding,
  Gradient,
  GradientPair,
  VariableRef,
} from "./src/types.ts";
export { Variable } from "./src/variable.ts";
export { VariableStore, type VariableStoreOptions } from "./src/variable_store.ts";
