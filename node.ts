/**
 * WebGPU for Node in one import. Imported before anything that looks for `navigator.gpu` (the
 * package's `requestDevice()`, TensorFlow.js's WebGPU backend), it makes `navigator.gpu` Dawn's
 * WebGPU from the npm package `webgpu` (install it beside this package) and adds the `GPU*`
 * globals Node lacks (`GPUBufferUsage`, `GPUMapMode`, ...). Where `navigator.gpu` already exists
 * (Deno, browsers, Bun after bun-webgpu's `setupGlobals()`), it changes nothing.
 *
 * It works in the same module as the code that uses it, on Node 20 and on Node 21 and later
 * (whose `navigator` has no setter), because the imports of a module run in order: put it first.
 * It also keeps Dawn's entry point referenced for the life of the process (Dawn's addon crashes
 * the process when that object is garbage-collected while a device from it is in use).
 *
 * @example
 * ```ts
 * import "@webgpu-adagrad/core/node"; // first: navigator.gpu for every import below
 * import { Adagrad, requestDevice, VariableStore } from "@webgpu-adagrad/core";
 *
 * const device = await requestDevice({ limits: "adapter" });
 * const store = new VariableStore(device);
 * const w = store.variable("w", [2], 1);
 * await new Adagrad({ learningRate: 0.1 }).applyGradients([[new Float32Array([1, 2]), w]]);
 * console.log(await w.read());
 * device.destroy();
 * ```
 *
 * @module
 */
import { create, globals } from "webgpu";
import { installGpu } from "./src/device/_install_gpu.ts";

/**
 * The WebGPU entry point now at `navigator.gpu`: Dawn's (`create([])` of the npm package
 * `webgpu`), or the runtime's own where it had one. `requestDevice()` finds it there; pass it as
 * `requestDevice({ gpu })` where another entry point may be installed later.
 *
 * @example
 * ```ts
 * import { gpu } from "@webgpu-adagrad/core/node";
 * import { requestDevice } from "@webgpu-adagrad/core";
 *
 * const device = await requestDevice({ gpu });
 * console.log(device.limits.maxStorageBufferBindingSize);
 * device.destroy();
 * ```
 */
export const gpu: GPU = installGpu(
  globalThis,
  () => create([]),
  globals as Record<string, unknown>,
);
