import { ADAGRAD_DENSE_WGSL } from "./_shaders.ts";

/** Elements per tile: each workgroup updates one tile of at most this many elements. */
export const TILE_ELEMENTS = 4096;
/** Bytes of the per-step uniform (`Params` in the shader). */
export const PARAMS_BYTES = 16;

/** The compiled dense update for one device and one specialisation. */
export interface DenseKernel {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  readonly workgroupSize: number;
  readonly maxWorkgroupsPerDimension: number;
}

interface DeviceCache {
  layout: GPUBindGroupLayout;
  module: GPUShaderModule;
  pipelines: Map<string, DenseKernel>;
}

// Pipelines are compiled once per device and specialisation, whatever the number of optimizers.
const caches = new WeakMap<GPUDevice, DeviceCache>();

function deviceCache(device: GPUDevice): DeviceCache {
  let cache = caches.get(device);
  if (!cache) {
    const storage = (type: GPUBufferBindingType, binding: number): GPUBindGroupLayoutEntry => ({
      binding,
      visibility: 0x4, // GPUShaderStage.COMPUTE
      buffer: { type },
    });
    cache = {
      layout: device.createBindGroupLayout({
        label: "webgpu-adagrad dense update",
        entries: [
          storage("uniform", 0),
          storage("read-only-storage", 1),
          storage("storage", 2),
          storage("storage", 3),
          storage("read-only-storage", 4),
        ],
      }),
      module: device.createShaderModule({
        label: "webgpu-adagrad adagrad_dense.wgsl",
        code: ADAGRAD_DENSE_WGSL,
      }),
      pipelines: new Map(),
    };
    caches.set(device, cache);
  }
  return cache;
}

/** What a dense kernel is specialised on (WGSL `override` constants). */
export interface DenseSpecialisation {
  epsilonInsideSqrt: boolean;
}

/** The dense update kernel for `device` and `spec`, compiled on first use. */
export function denseKernel(
  device: GPUDevice,
  spec: DenseSpecialisation = { epsilonInsideSqrt: false },
): DenseKernel {
  const cache = deviceCache(device);
  const workgroupSize = Math.min(
    256,
    device.limits.maxComputeInvocationsPerWorkgroup,
    device.limits.maxComputeWorkgroupSizeX,
  );
  const key = `dense:${workgroupSize}:${spec.epsilonInsideSqrt ? "inside" : "outside"}`;
  let kernel = cache.pipelines.get(key);
  if (!kernel) {
    kernel = {
      pipeline: device.createComputePipeline({
        label: `webgpu-adagrad ${key}`,
        layout: device.createPipelineLayout({ bindGroupLayouts: [cache.layout] }),
        compute: {
          module: cache.module,
          entryPoint: "update",
          constants: {
            WORKGROUP_SIZE: workgroupSize,
            EPSILON_INSIDE_SQRT: spec.epsilonInsideSqrt ? 1 : 0,
          },
        },
      }),
      layout: cache.layout,
      workgroupSize,
      maxWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
    };
    cache.pipelines.set(key, kernel);
  }
  return kernel;
}
