// What TfjsAdagrad needs of TF.js's WebGPU backend (4.22), in one place: the active backend, a
// tensor's GPUBuffer, and flushing TF.js's queued commands. These are the backend's own members
// (dist/backend_webgpu.js), not part of TF.js's typed API, so they are checked, not assumed.
import * as tf from "@tensorflow/tfjs-core";
import type { Gradient } from "../optimizers/gradients.ts";

/** A tensor's record in the backend's `tensorMap`. */
interface TensorData {
  dtype: string;
  shape: number[];
  /** CPU copy: the data itself before the first upload, or a cache after a read. */
  values: unknown;
  resource: unknown;
}

/** The members of TF.js's `WebGPUBackend` used here. */
export interface WebGpuBackend {
  readonly device: GPUDevice;
  readonly tensorMap: { get(dataId: object): TensorData | undefined };
  readonly commandEncoder: GPUCommandEncoder | null;
  endComputePassEncoder(): void;
  submitQueue(): void;
  uploadToGPU(dataId: object): void;
  /** Tensor handles sharing `dataId`'s data (a variable, clones, assigned tensors). */
  refCount(dataId: object): number;
  read(dataId: object): Promise<unknown>;
}

/** Whether `backend` looks like TF.js's WebGPU backend (any registered name). */
export function isWebGpuBackend(backend: unknown): backend is WebGpuBackend {
  const b = backend as Partial<Record<keyof WebGpuBackend, unknown>> | null;
  return typeof b === "object" && b !== null && typeof b.device === "object" &&
    typeof b.tensorMap === "object" && typeof b.submitQueue === "function" &&
    typeof b.endComputePassEncoder === "function" && typeof b.uploadToGPU === "function" &&
    typeof b.refCount === "function" && typeof b.read === "function" && "commandEncoder" in b;
}

/** The active TF.js backend, which must be a WebGPU one; the error says how to get one. */
export function activeWebGpuBackend(who: string): WebGpuBackend {
  // The registry, not findBackend: that would start initialising a backend that is not running.
  const name = tf.getBackend();
  const backend = name ? tf.engine().registry[name] : null;
  if (!isWebGpuBackend(backend)) {
    throw new TypeError(
      `${who} runs on TF.js's WebGPU backend, but the active backend is '${name}': import ` +
        `"@tensorflow/tfjs-backend-webgpu" and \`await tf.setBackend("webgpu")\`, or put TF.js on ` +
        `your own device with \`await useDeviceForTfjs(device)\`, before training`,
    );
  }
  return backend;
}

/** The backend holding a tensor's data, and its name. */
export function ownerOf(t: tf.Tensor): { backend: unknown; name: string } {
  const info = tf.engine().state.tensorInfo.get(t.dataId);
  const backend = info?.backend;
  const registry = tf.engine().registry;
  const name = Object.keys(registry).find((n) => registry[n] === backend) ?? "unknown";
  return { backend, name };
}

/** Submits what TF.js has recorded but not submitted, so that it runs before our step. */
export function flush(backend: WebGpuBackend): void {
  if (backend.commandEncoder === null) return;
  backend.endComputePassEncoder();
  backend.submitQueue();
}

/** The tensor's data on the GPU: its buffer, or its CPU values when it was never uploaded. */
export function gpuData(
  backend: WebGpuBackend,
  t: tf.Tensor,
): { buffer: GPUBuffer } | { values: Float32Array } {
  const data = backend.tensorMap.get(t.dataId)!;
  if (data.resource == null && data.values instanceof Float32Array) return { values: data.values };
  backend.uploadToGPU(t.dataId);
  return { buffer: data.resource as GPUBuffer };
}

/** A dense gradient tensor as the step takes it: its GPU buffer, or its CPU values. */
export function gradientSource(backend: WebGpuBackend, t: tf.Tensor): Gradient {
  const data = gpuData(backend, t);
  return "values" in data ? data.values : { buffer: data.buffer, offset: 0, size: t.size * 4 };
}

/** Puts a variable on the GPU (TF.js keeps small new tensors on the CPU until first used). */
export function variableBuffer(backend: WebGpuBackend, v: tf.Tensor): GPUBuffer {
  backend.uploadToGPU(v.dataId);
  return backend.tensorMap.get(v.dataId)!.resource as GPUBuffer;
}

/** Drops a CPU copy cached by a read, which would be stale once the buffer is written. */
export function dropCpuCopy(backend: WebGpuBackend, v: tf.Tensor): void {
  const data = backend.tensorMap.get(v.dataId);
  if (data && data.resource != null) data.values = null;
}

/**
 * Copy-outs into each TF.js buffer, by every TfjsAdagrad: another optimizer writing a variable in
 * place keeps its dataId and buffer, so this count is what tells the first one its mirror is stale,
 * and what tells a read that started before a step that its values are old.
 */
const copyOuts = new WeakMap<GPUBuffer, number>();

/** Counts a copy-out into `buffer`; returns the new count. */
export function noteCopyOut(buffer: GPUBuffer): number {
  const n = (copyOuts.get(buffer) ?? 0) + 1;
  copyOuts.set(buffer, n);
  return n;
}

/** Copy-outs into `buffer` so far. */
export function copyOutsOf(buffer: GPUBuffer): number {
  return copyOuts.get(buffer) ?? 0;
}

const guarded = new WeakSet<object>();

/**
 * Makes `backend`'s reads safe across our in-place writes. A `data()` started before a step
 * resolves with the values from before it (right: it was asked first), but TF.js then caches them
 * as the tensor's CPU copy, which the step has made stale: when the buffer was written while the
 * read was in flight, the cache is dropped again. Installed once per backend.
 */
export function guardReads(backend: WebGpuBackend): void {
  if (guarded.has(backend)) return;
  guarded.add(backend);
  const read = backend.read.bind(backend);
  (backend as { read: WebGpuBackend["read"] }).read = async (dataId) => {
    const data = backend.tensorMap.get(dataId);
    const buffer = data?.resource as GPUBuffer | undefined;
    const before = buffer ? copyOutsOf(buffer) : 0;
    const values = await read(dataId);
    if (buffer && data!.resource === buffer && copyOutsOf(buffer) !== before) data!.values = null;
    return values;
  };
}

/**
 * Gives `variable` data of its own when other tensors share it (`tf.variable(init)` while `init`
 * lives, `assign(t)`, clones, a `getWeights()` result): our step writes the variable's buffer in
 * place, which must not change those tensors. A TF.js copy, once; the variable is then the sole
 * owner, so later steps cost nothing.
 */
export function ownData(backend: WebGpuBackend, variable: tf.Variable): void {
  if (backend.refCount(variable.dataId) <= 1) return;
  tf.tidy(() => {
    variable.assign(tf.add(variable, tf.scalar(0, "float32")));
  });
}
