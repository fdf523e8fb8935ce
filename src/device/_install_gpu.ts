// Installing a WebGPU entry point as `navigator.gpu`, for node.ts. Apart from it so that tests can
// run it on stand-ins for the global object of each Node version.
import type { Runtime } from "./_runtime.ts";

/**
 * Makes `target.navigator.gpu` a WebGPU entry point and adds the `GPU*` constants and classes
 * (`GPUBufferUsage`, `GPUMapMode`, ...) that `target` lacks; returns the entry point in place.
 * An entry point already there (Deno, browsers, Bun after bun-webgpu's `setupGlobals()`) is kept,
 * and `makeGpu` is not called.
 *
 * Synchronous on purpose: node.ts runs it while its importer's imports are evaluated, before
 * the next import (TF.js's WebGPU backend looks for `navigator.gpu` when it is imported). A
 * module with top-level await would let the next imports run before it finished.
 */
export function installGpu(
  target: object,
  makeGpu: () => GPU,
  globals: Readonly<Record<string, unknown>>,
): GPU {
  const g = target as { navigator?: { gpu?: GPU } };
  for (const [name, value] of Object.entries(globals)) {
    if (!(name in g)) {
      Object.defineProperty(g, name, { value, writable: true, configurable: true });
    }
  }
  const existing = g.navigator?.gpu;
  if (existing) return existing;
  const gpu = makeGpu();
  const property = { value: gpu, writable: true, configurable: true, enumerable: true };
  if (typeof g.navigator === "object" && g.navigator !== null) {
    // Node 21+ has a navigator of its own behind a getter without a setter: assigning
    // `globalThis.navigator` fails there (silently outside strict mode), so extend that object.
    Object.defineProperty(g.navigator, "gpu", property);
  } else {
    Object.defineProperty(g, "navigator", { ...property, value: { gpu } });
  }
  return gpu;
}

/**
 * What to do in `runtime` when it has no `navigator.gpu`, for callers that need the global (TF.js's
 * backend looks there; passing an entry point to requestDevice does not help it).
 */
export function missingGpuHint(runtime: Runtime): string {
  switch (runtime.kind) {
    case "bun":
      return "On Bun: `import { setupGlobals } from 'bun-webgpu'; await setupGlobals();` first.";
    case "deno":
      // Deno 2 has navigator.gpu without a flag (checked: 2.0.6, 2.5.7, 2.7.13, 2.8.3).
      return "On Deno 1.x, run with --unstable-webgpu; Deno 2 has navigator.gpu.";
    case "node":
      return "On Node: `npm install webgpu`, then make `import 'webgpu-adagrad/node';` " +
        "(JSR: '@webgpu-adagrad/core/node') your first import.";
    default:
      return "Use a browser with WebGPU (a secure context: https or localhost).";
  }
}
