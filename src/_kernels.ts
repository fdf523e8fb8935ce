import { ADAGRAD_DENSE_WGSL, CLIP_NORMS_WGSL, SUM_SQUARES_WGSL } from "./_shaders.ts";

/** Elements per tile: each workgroup updates one tile of at most this many elements. */
export const TILE_ELEMENTS = 4096;
/** Bytes of the per-step uniform (`Params` in the shaders). */
export const PARAMS_BYTES = 16;

/** No norm clipping, Keras `clipnorm`, Keras `global_clipnorm`. */
export type NormMode = 0 | 1 | 2;

/** What the kernels are specialised on (WGSL `override` constants). */
export interface Specialisation {
  epsilonInsideSqrt: boolean;
  clipValue: boolean;
  normMode: NormMode;
}

/** The compiled pipelines of one device and specialisation, with their layouts. */
export interface Kernels {
  /** The fused update (adagrad_dense.wgsl). */
  readonly update: GPUComputePipeline;
  readonly updateLayout: GPUBindGroupLayout;
  /** Norm clipping pass 1 (sum_squares.wgsl); null without norm clipping. */
  readonly sumSquares: GPUComputePipeline | null;
  readonly sumSquaresLayout: GPUBindGroupLayout;
  /** Norm clipping pass 2 (clip_norms.wgsl); null without norm clipping. */
  readonly clipNorms: GPUComputePipeline | null;
  readonly clipNormsLayout: GPUBindGroupLayout;
  readonly workgroupSize: number;
  readonly maxWorkgroupsPerDimension: number;
}

interface DeviceCache {
  updateLayout: GPUBindGroupLayout;
  sumSquaresLayout: GPUBindGroupLayout;
  clipNormsLayout: GPUBindGroupLayout;
  modules: Map<string, GPUShaderModule>;
  pipelines: Map<string, GPUComputePipeline>;
  kernels: Map<string, Kernels>;
}

// Compiled once per device and specialisation, whatever the number of optimizers.
const caches = new WeakMap<GPUDevice, DeviceCache>();

function layout(
  device: GPUDevice,
  label: string,
  types: GPUBufferBindingType[],
): GPUBindGroupLayout {
  return device.createBindGroupLayout({
    label: `webgpu-adagrad ${label}`,
    entries: types.map((type, binding) => ({
      binding,
      visibility: 0x4, // GPUShaderStage.COMPUTE
      buffer: { type },
    })),
  });
}

function deviceCache(device: GPUDevice): DeviceCache {
  let cache = caches.get(device);
  if (!cache) {
    cache = {
      // params, tiles, variables, accumulators, gradients, norms
      updateLayout: layout(device, "update", [
        "uniform",
        "read-only-storage",
        "storage",
        "storage",
        "read-only-storage",
        "read-only-storage",
      ]),
      // params, tiles, gradients, partials
      sumSquaresLayout: layout(device, "sum_squares", [
        "uniform",
        "read-only-storage",
        "read-only-storage",
        "storage",
      ]),
      // params, variable table, partials, norms
      clipNormsLayout: layout(device, "clip_norms", [
        "uniform",
        "read-only-storage",
        "read-only-storage",
        "storage",
      ]),
      modules: new Map(),
      pipelines: new Map(),
      kernels: new Map(),
    };
    caches.set(device, cache);
  }
  return cache;
}

function pipeline(
  device: GPUDevice,
  cache: DeviceCache,
  code: string,
  entryPoint: string,
  bindGroupLayout: GPUBindGroupLayout,
  constants: Record<string, number>,
): GPUComputePipeline {
  const key = `${entryPoint}:${JSON.stringify(constants)}`;
  let p = cache.pipelines.get(key);
  if (!p) {
    let module = cache.modules.get(entryPoint);
    if (!module) {
      module = device.createShaderModule({ label: `webgpu-adagrad ${entryPoint}`, code });
      cache.modules.set(entryPoint, module);
    }
    p = device.createComputePipeline({
      label: `webgpu-adagrad ${key}`,
      layout: device.createPipelineLayout({ bindGroupLayouts: [bindGroupLayout] }),
      compute: { module, entryPoint, constants },
    });
    cache.pipelines.set(key, p);
  }
  return p;
}

/** The kernels for `device` and `spec`, compiled on first use. */
export function kernelsFor(device: GPUDevice, spec: Specialisation): Kernels {
  const cache = deviceCache(device);
  const workgroupSize = Math.min(
    256,
    device.limits.maxComputeInvocationsPerWorkgroup,
    device.limits.maxComputeWorkgroupSizeX,
  );
  const key = `${workgroupSize}:${spec.epsilonInsideSqrt}:${spec.clipValue}:${spec.normMode}`;
  let kernels = cache.kernels.get(key);
  if (!kernels) {
    const clipValue = spec.clipValue ? 1 : 0;
    const norms = spec.normMode !== 0;
    kernels = {
      update: pipeline(device, cache, ADAGRAD_DENSE_WGSL, "update", cache.updateLayout, {
        WORKGROUP_SIZE: workgroupSize,
        EPSILON_INSIDE_SQRT: spec.epsilonInsideSqrt ? 1 : 0,
        CLIP_VALUE: clipValue,
        NORM_MODE: spec.normMode,
      }),
      updateLayout: cache.updateLayout,
      sumSquares: norms
        ? pipeline(device, cache, SUM_SQUARES_WGSL, "sum_squares", cache.sumSquaresLayout, {
          WORKGROUP_SIZE: workgroupSize,
          CLIP_VALUE: clipValue,
        })
        : null,
      sumSquaresLayout: cache.sumSquaresLayout,
      clipNorms: norms
        ? pipeline(device, cache, CLIP_NORMS_WGSL, "clip_norms", cache.clipNormsLayout, {
          WORKGROUP_SIZE: workgroupSize,
          NORM_MODE: spec.normMode,
        })
        : null,
      clipNormsLayout: cache.clipNormsLayout,
      workgroupSize,
      maxWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
    };
    cache.kernels.set(key, kernels);
  }
  return kernels;
}
