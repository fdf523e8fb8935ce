import { describe } from "../_common/validate.ts";
import { noteAdapter } from "./_adapter_kind.ts";
import { detectRuntime } from "./_runtime.ts";
import { badGpuOptionMessage, noAdapterMessage, noEntryPointMessage } from "./_webgpu_help.ts";

/** Options of {@linkcode requestDevice}. */
export interface RequestDeviceOptions {
  /**
   * The WebGPU entry point. Default: `navigator.gpu` (Deno, browsers, Bun after `bun-webgpu`'s
   * `setupGlobals()`). On Node pass `create([])` from the npm package `webgpu`: this function
   * keeps a reference to it for the life of the process, since Dawn's Node addon crashes the
   * process when that object is garbage-collected while a device from it is in use.
   */
  gpu?: GPU;
  /**
   * `"default"`: WebGPU's default limits (128 MiB per storage binding, so per arena).
   * `"adapter"`: the adapter's own buffer limits (`maxStorageBufferBindingSize`, `maxBufferSize`,
   * `minStorageBufferOffsetAlignment`), for models larger than the defaults allow. Default
   * `"default"`.
   */
  limits?: "default" | "adapter";
  /** Passed to `requestAdapter`. */
  powerPreference?: GPUPowerPreference;
  /** Further limits to request; they win over `limits`. */
  requiredLimits?: Record<string, number>;
  /** Features to request. */
  requiredFeatures?: GPUFeatureName[];
  /** The device's label. */
  label?: string;
}

const BUFFER_LIMITS = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "minStorageBufferOffsetAlignment",
] as const;

// Entry points handed in, kept alive for the process (see `gpu` above).
const entryPoints = new Set<GPU>();

/**
 * A `GPUDevice` on any runtime, with the adapter's larger buffer limits when asked. It finds
 * `navigator.gpu`, or takes the entry point as `gpu`; the main entry point never imports a
 * runtime's WebGPU module (only the opt-in `webgpu-adagrad/node` does).
 *
 * - Deno (2.x: no flag needed), browsers: `await requestDevice()`.
 * - Node: `npm install webgpu`, make `import "webgpu-adagrad/node";` the module's first import
 *   (it installs `navigator.gpu`), then `await requestDevice()`. Or, by hand:
 *   `Object.assign(globalThis, globals); await requestDevice({ gpu: create([]) })`
 *   with `create` and `globals` from `"webgpu"`. Dawn prints a few `Warning: ... artificially
 *   reduced` lines on stderr; they are harmless.
 * - Bun: `npm install bun-webgpu`, `await setupGlobals()` from it, then `await requestDevice()`.
 *   `bun-webgpu` 0.1.7 refuses any `requiredLimits` (`OperationError: Value must be between 0
 *   and 0, got 8`), so `limits: "adapter"` fails there, with an error that says so; Node's
 *   `webgpu` also loads in Bun and takes them (`import "webgpu-adagrad/node"`, as on Node).
 *
 * @example
 * ```ts
 * import { requestDevice, VariableStore } from "@webgpu-adagrad/core";
 *
 * const device = await requestDevice({ limits: "adapter" });
 * console.log(device.limits.maxStorageBufferBindingSize >= 128 * 1024 * 1024); // true
 * const store = new VariableStore(device); // arenas as large as the adapter allows
 * store.destroy();
 * device.destroy();
 * ```
 *
 * @throws {TypeError} when there is no WebGPU entry point (`navigator.gpu`, or a `gpu` option
 *   that is one), saying what to do in this runtime: the Deno version or flag, Node's and Bun's
 *   npm packages, the browser's setting, or a secure context for a page
 * @throws {Error} when there is no adapter, saying what to check in this runtime (the driver,
 *   Vulkan or lavapipe on Linux, the browser's GPU page), or when the device request fails
 */
export async function requestDevice(options: RequestDeviceOptions = {}): Promise<GPUDevice> {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`requestDevice: options must be an object, got ${describe(options)}`);
  }
  const { limits = "default", powerPreference, requiredFeatures, label } = options;
  if (limits !== "default" && limits !== "adapter") {
    throw new RangeError(`requestDevice: limits must be "default" or "adapter", got ${limits}`);
  }
  if (options.gpu !== undefined && typeof options.gpu?.requestAdapter !== "function") {
    throw new TypeError(badGpuOptionMessage(options.gpu));
  }
  const gpu = options.gpu ?? (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (!gpu || typeof gpu.requestAdapter !== "function") {
    throw new TypeError(noEntryPointMessage(detectRuntime()));
  }
  if (options.gpu) entryPoints.add(options.gpu);
  const adapter = await gpu.requestAdapter(powerPreference ? { powerPreference } : undefined);
  if (!adapter) throw new Error(noAdapterMessage(detectRuntime(), powerPreference));
  const required: Record<string, number> = {};
  if (limits === "adapter") {
    for (const key of BUFFER_LIMITS) required[key] = adapter.limits[key];
  }
  Object.assign(required, options.requiredLimits);
  const descriptor: GPUDeviceDescriptor = {};
  // Only what was asked: bun-webgpu 0.1.7 rejects even an empty requiredLimits object.
  if (Object.keys(required).length > 0) descriptor.requiredLimits = required;
  if (requiredFeatures?.length) descriptor.requiredFeatures = requiredFeatures;
  if (label !== undefined) descriptor.label = label;
  try {
    const device = await adapter.requestDevice(descriptor);
    noteAdapter(device, adapter);
    return device;
  } catch (e) {
    if (!descriptor.requiredLimits) throw e;
    // bun-webgpu's refusal reads "Value must be between 0 and 0, got 8", which names no limit.
    const why = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    const bun = (globalThis as { Bun?: unknown }).Bun
      ? ` bun-webgpu 0.1.7 refuses any limits: on Bun, use Node's \`webgpu\` instead ` +
        "(`import 'webgpu-adagrad/node';` as the first import, no setupGlobals()), or leave " +
        "`limits` and `requiredLimits` out."
      : "";
    throw new Error(
      `requestDevice: the adapter refused the limits ${JSON.stringify(required)} (${why}).${bun}`,
      { cause: e },
    );
  }
}
