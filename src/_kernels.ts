import {
  ADAGRAD_DENSE_VEC4_WGSL,
  ADAGRAD_DENSE_WGSL,
  ADAGRAD_SPARSE_WGSL,
  BITONIC_SORT_WGSL,
  CLIP_NORMS_WGSL,
  GUARD_WGSL,
  ROWWISE_ADAGRAD_WGSL,
  SPARSE_KEYS_WGSL,
  SUM_SQUARES_WGSL,
} from "./_shaders.ts";

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
  /** The non-finite guard (guard.wgsl) decides whether the step runs, and its learning rate. */
  guard: boolean;
  normMode: NormMode;
}

/** The compiled pipelines of one device and specialisation, with their layouts. */
export interface Kernels {
  /** The fused update (adagrad_dense.wgsl). */
  readonly update: GPUComputePipeline;
  /** The same, four elements at a time, for 16-byte-aligned variables (adagrad_dense_vec4.wgsl). */
  readonly updateVec4: GPUComputePipeline;
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
  sparseLayouts: SparseLayouts | null;
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
  dynamicFirst = false,
): GPUBindGroupLayout {
  return device.createBindGroupLayout({
    label: `webgpu-adagrad ${label}`,
    entries: types.map((type, binding) => ({
      binding,
      visibility: 0x4, // GPUShaderStage.COMPUTE
      buffer: { type, hasDynamicOffset: dynamicFirst && binding === 0 },
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
      sparseLayouts: null,
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
    let module = cache.modules.get(code);
    if (!module) {
      module = device.createShaderModule({ label: `webgpu-adagrad ${entryPoint}`, code });
      cache.modules.set(code, module);
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

function workgroupSizeOf(device: GPUDevice): number {
  return Math.min(
    256,
    device.limits.maxComputeInvocationsPerWorkgroup,
    device.limits.maxComputeWorkgroupSizeX,
  );
}

/** The kernels for `device` and `spec`, compiled on first use. */
export function kernelsFor(device: GPUDevice, spec: Specialisation): Kernels {
  const cache = deviceCache(device);
  const workgroupSize = workgroupSizeOf(device);
  const key =
    `${workgroupSize}:${spec.epsilonInsideSqrt}:${spec.clipValue}:${spec.normMode}:${spec.guard}`;
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
        GUARD: spec.guard ? 1 : 0,
      }),
      updateVec4: pipeline(
        device,
        cache,
        ADAGRAD_DENSE_VEC4_WGSL,
        "update_vec4",
        cache.updateLayout,
        {
          WORKGROUP_SIZE: workgroupSize,
          EPSILON_INSIDE_SQRT: spec.epsilonInsideSqrt ? 1 : 0,
          CLIP_VALUE: clipValue,
          NORM_MODE: spec.normMode,
          GUARD: spec.guard ? 1 : 0,
        },
      ),
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

interface SparseLayouts {
  keys: GPUBindGroupLayout;
  sort: GPUBindGroupLayout;
  update: GPUBindGroupLayout;
}

/** The kernels of sparse gradients (IndexedSlices), compiled on the first sparse step. */
export interface SparseKernels {
  /** Sort keys of the step's indices (sparse_keys.wgsl). */
  readonly keys: GPUComputePipeline;
  readonly keysLayout: GPUBindGroupLayout;
  /** The bitonic sort's three kernels (bitonic_sort.wgsl); their uniform has a dynamic offset. */
  readonly sortBlock: GPUComputePipeline;
  readonly sortMerge: GPUComputePipeline;
  readonly sortStep: GPUComputePipeline;
  readonly sortLayout: GPUBindGroupLayout;
  /** The update of the touched rows (adagrad_sparse.wgsl, or rowwise_adagrad.wgsl). */
  readonly update: GPUComputePipeline;
  readonly updateLayout: GPUBindGroupLayout;
  /** Pairs one sort workgroup holds: twice the workgroup size, a power of two. */
  readonly block: number;
  readonly workgroupSize: number;
  readonly maxWorkgroupsPerDimension: number;
}

const sparseKernelCache = new WeakMap<GPUDevice, Map<string, SparseKernels>>();

/** The sparse kernels for `device` and `spec`, compiled on first use. */
export function sparseKernelsFor(
  device: GPUDevice,
  spec: Specialisation,
  rowWise = false,
): SparseKernels {
  const cache = deviceCache(device);
  // The sort needs a power-of-two workgroup; 256 or the largest power of two the device allows.
  const workgroupSize = 2 ** Math.floor(Math.log2(workgroupSizeOf(device)));
  const key = `${workgroupSize}:${spec.epsilonInsideSqrt}:${spec.clipValue}:${spec.normMode}:` +
    `${spec.guard}:${rowWise}`;
  let perDevice = sparseKernelCache.get(device);
  if (!perDevice) sparseKernelCache.set(device, perDevice = new Map());
  let kernels = perDevice.get(key);
  if (kernels) return kernels;
  const layouts = cache.sparseLayouts ??= {
    // table, indices, pairs, skipped
    keys: layout(device, "sparse keys", [
      "read-only-storage",
      "read-only-storage",
      "storage",
      "storage",
    ]),
    // step (dynamic offset), header, pairs
    sort: layout(device, "bitonic sort", ["uniform", "read-only-storage", "storage"], true),
    // params, tiles, variables, accumulators, values, pairs, norms
    update: layout(device, "sparse update", [
      "uniform",
      "read-only-storage",
      "storage",
      "storage",
      "read-only-storage",
      "read-only-storage",
      "read-only-storage",
    ]),
  };
  const block = 2 * workgroupSize;
  const sort = (entry: string) =>
    pipeline(device, cache, BITONIC_SORT_WGSL, entry, layouts.sort, {
      WORKGROUP_SIZE: workgroupSize,
      BLOCK: block,
    });
  kernels = {
    keys: pipeline(device, cache, SPARSE_KEYS_WGSL, "sparse_keys", layouts.keys, {
      WORKGROUP_SIZE: workgroupSize,
    }),
    keysLayout: layouts.keys,
    sortBlock: sort("sort_block"),
    sortMerge: sort("sort_merge"),
    sortStep: sort("sort_step"),
    sortLayout: layouts.sort,
    update: pipeline(
      device,
      cache,
      rowWise ? ROWWISE_ADAGRAD_WGSL : ADAGRAD_SPARSE_WGSL,
      rowWise ? "rowwise_update" : "sparse_update",
      layouts.update,
      {
        WORKGROUP_SIZE: workgroupSize,
        EPSILON_INSIDE_SQRT: spec.epsilonInsideSqrt ? 1 : 0,
        CLIP_VALUE: spec.clipValue ? 1 : 0,
        NORM_MODE: spec.normMode,
        GUARD: spec.guard ? 1 : 0,
      },
    ),
    updateLayout: layouts.update,
    block,
    workgroupSize,
    maxWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
  };
  perDevice.set(key, kernels);
  return kernels;
}

/** The non-finite guard's kernels (guard.wgsl), with their own ("auto") layouts. */
export interface GuardKernels {
  readonly check: GPUComputePipeline;
  readonly finalize: GPUComputePipeline;
  readonly workgroupSize: number;
  readonly maxWorkgroupsPerDimension: number;
}

/** Entries of the guard's learning-rate table (LR_WINDOW in guard.wgsl). */
export const LR_WINDOW = 16;

const guardCache = new WeakMap<GPUDevice, GuardKernels>();

/** The guard's kernels for `device`, compiled on first use. */
export function guardKernelsFor(device: GPUDevice): GuardKernels {
  let kernels = guardCache.get(device);
  if (!kernels) {
    const workgroupSize = workgroupSizeOf(device);
    const module = device.createShaderModule({ label: "webgpu-adagrad guard", code: GUARD_WGSL });
    const make = (entryPoint: string) =>
      device.createComputePipeline({
        label: `webgpu-adagrad ${entryPoint}`,
        layout: "auto",
        compute: {
          module,
          entryPoint,
          constants: { WORKGROUP_SIZE: workgroupSize, LR_WINDOW },
        },
      });
    kernels = {
      check: make("check_finite"),
      finalize: make("finalize"),
      workgroupSize,
      maxWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
    };
    guardCache.set(device, kernels);
  }
  return kernels;
}
