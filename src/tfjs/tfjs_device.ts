import * as tf from "@tensorflow/tfjs-core";
import { WebGPUBackend } from "@tensorflow/tfjs-backend-webgpu";
import { isWebGpuBackend } from "./_backend.ts";
import { missingGpuHint } from "../device/_install_gpu.ts";
import { detectRuntime } from "../device/_runtime.ts";

/**
 * Puts TensorFlow.js on a `GPUDevice` you already have: registers a TF.js WebGPU backend named
 * `name` on `device` (with every kernel of TF.js's `webgpu` backend), makes it the active backend
 * and resolves to its name. Use it when your own WebGPU code, a {@linkcode VariableStore} or
 * another library already owns the device; with no device of your own,
 * `await tf.setBackend("webgpu")` is enough and {@linkcode TfjsAdagrad} adopts TF.js's device.
 * Calling it again with the same device and name only makes that backend active again.
 *
 * TF.js's WebGPU backend needs `navigator.gpu` (it refuses to start without one, even on a
 * device of your own). On Node, make `import "webgpu-adagrad/node";` (JSR:
 * `@webgpu-adagrad/core/node`) the module's first import; on Bun, `await setupGlobals()` from
 * `bun-webgpu`. Without it this function throws a `TypeError` saying so.
 *
 * @param device the device TF.js should use
 * @param name the backend's name (default `"webgpu-adagrad"`)
 * @returns the backend's name, now active
 * @throws {RangeError} if a backend of that name is registered on another device
 * @throws {TypeError} if there is no `navigator.gpu`, with what to do on this runtime
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { useDeviceForTfjs } from "@webgpu-adagrad/core/tfjs";
 *
 * const adapter = await navigator.gpu.requestAdapter();
 * const device = await adapter!.requestDevice();
 * await useDeviceForTfjs(device);
 * console.log(tf.getBackend()); // "webgpu-adagrad"
 * ```
 */
export async function useDeviceForTfjs(
  device: GPUDevice,
  name = "webgpu-adagrad",
): Promise<string> {
  if (typeof device !== "object" || device === null || typeof device.createBuffer !== "function") {
    throw new TypeError(`useDeviceForTfjs: expected a GPUDevice, got ${String(device)}`);
  }
  if (typeof name !== "string" || name === "") {
    throw new TypeError(`useDeviceForTfjs: the backend name must be a non-empty string`);
  }
  if (!(globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu) {
    throw new TypeError(
      `useDeviceForTfjs: TF.js's WebGPU backend needs navigator.gpu, which is missing. ` +
        missingGpuHint(detectRuntime()),
    );
  }
  const engine = tf.engine();
  if (engine.findBackendFactory(name) != null) {
    const existing = engine.registry[name];
    if (existing !== undefined && (!isWebGpuBackend(existing) || existing.device !== device)) {
      throw new RangeError(
        `useDeviceForTfjs: a TF.js backend named '${name}' already exists on another device; ` +
          `pass another name`,
      );
    }
  } else {
    // Kernels are registered per backend name: give this name every kernel of "webgpu".
    for (const kernel of tf.getKernelsForBackend("webgpu")) {
      tf.registerKernel({ ...kernel, backendName: name });
    }
    tf.registerBackend(name, () => new WebGPUBackend(device));
  }
  if (!await tf.setBackend(name)) {
    throw new Error(`useDeviceForTfjs: TF.js could not start the backend '${name}'`);
  }
  return name;
}
