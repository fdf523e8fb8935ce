// Every compute pipeline of the package, compiled on first use and cached once per device and
// specialisation, whatever the number of optimizers: one cache holds the layouts, the shader
// modules and the pipelines.
import {
  ADAGRAD_DENSE_WGSL,
  ADAGRAD_SPARSE_WGSL,
  BITONIC_SORT_WGSL,
  CLIP_NORMS_WGSL,
  NON_FINITE_WGSL,
  RADIX_SORT_WGSL,
  ROWWISE_ADAGRAD_WGSL,
  SPARSE_KEYS_WGSL,
  SUM_SQUARES_WGSL,
  WIDEN_F16_WGSL,
} from "./shaders.ts";
import { BINDINGS, DYNAMIC_OFFSETS } from "./shader_interface.ts";
import { isFallbackDevice } from "../device/_adapter_kind.ts";
import {
  entryPoint,
  type GradientLayout,
  Phase,
  type Specialisation,
  specialisationKey,
} from "./specialisation.ts";

/** Elements per tile on a GPU: each workgroup updates one tile of at most this many elements. */
export const TILE_ELEMENTS = 4096;

/**
 * How the update kernels spread their work: elements per tile (one workgroup's: the dense and the
 * element-wise sparse update, and the widening of float16 sparse values), and how the dense
 * update's lanes share a tile (LANE_BLOCK in shaders/_interface.wgsl): 0, each lane every
 * WORKGROUP_SIZE-th vector, a GPU's coalesced order; n, each batch of n lanes a contiguous block.
 * `dealSparse`: a group holding a window of a variable past one binding deals its sparse tiles out
 * (dealtOrder, for a CPU adapter's threads) instead of leaving them in table order. `rowLanes`:
 * the row kernel's layout (rowwise_adagrad.wgsl), 0 one thread per row, n (a power of two) a row
 * over n lanes with contiguous loads and a workgroup reduction of its squares (FBGEMM's).
 */
export interface DispatchShape {
  tileElements: number;
  laneBlock: number;
  dealSparse: boolean;
  rowLanes: number;
}

/**
 * A GPU's: small tiles (many workgroups in flight), lanes side by side, sparse tiles in table
 * order, a row over 16 lanes (FBGEMM's layout; not yet timed on a GPU: `scripts/run.sh gpu-report`).
 */
export const GPU_SHAPE: DispatchShape = Object.freeze({
  tileElements: TILE_ELEMENTS,
  laneBlock: 0,
  dealSparse: false,
  rowLanes: 16,
});

/**
 * A fallback (CPU) adapter's, lavapipe or SwiftShader: there a workgroup has a fixed cost, and
 * lavapipe runs 8 lanes at a time as one 256-bit vector, so strided lanes walk memory 128 bytes
 * every 4 KiB. Tiles of 32,768 elements, a block of the tile per 8 lanes: 0.76-0.82x the GPU
 * shape's time at 1 x 16M on lavapipe, 0.87-0.99x at 1M and 4M (docs/benchmarks.md). 8,192-element
 * tiles alone gave 0.87-0.91x at 16M; 16,384 with strided lanes anywhere from 0.87x to 1.10x. The
 * sparse update, lane-strided, measured 0.89-0.99x 4,096's time with these tiles (the float16
 * widening was not timed apart). Sparse tiles dealt out to lavapipe's threads; one thread per row
 * in the row kernel (a row over 16 lanes ran 4.5x slower there: its barriers).
 */
export const FALLBACK_SHAPE: DispatchShape = Object.freeze({
  tileElements: 32768,
  laneBlock: 8,
  dealSparse: true,
  rowLanes: 0,
});

let shapeOverride: DispatchShape | null = null;

/**
 * Sets the dispatch shape of every device (null: by adapter, the default); returns the previous
 * setting. For tests and the benchmark, which compare shapes on one adapter.
 */
export function setDispatchShape(shape: DispatchShape | null): DispatchShape | null {
  if (shape !== null) {
    const { tileElements: t, laneBlock: l, dealSparse: d, rowLanes: r } = shape;
    // Tiles start on whole vectors (the vec4 kernels' loads); a row's lanes divide a workgroup.
    if (
      !Number.isInteger(t) || t < 4 || t % 4 !== 0 || !Number.isInteger(l) || l < 0 ||
      typeof d !== "boolean" || !Number.isInteger(r) || r < 0 || (r & (r - 1)) !== 0
    ) {
      throw new RangeError(
        `setDispatchShape: tileElements must be a positive multiple of 4, ` +
          `laneBlock an integer >= 0, dealSparse a boolean and rowLanes 0 or a power of two, ` +
          `got ${JSON.stringify(shape)}`,
      );
    }
  }
  const previous = shapeOverride;
  shapeOverride = shape;
  return previous;
}

/** The dispatch shape for `device`: a fallback adapter's or a GPU's, unless overridden. */
export function dispatchShapeFor(device: GPUDevice): DispatchShape {
  if (shapeOverride !== null) return shapeOverride;
  return isFallbackDevice(device) ? FALLBACK_SHAPE : GPU_SHAPE;
}
/**
 * Elements per tile of the passes that only read gradients, one workgroup each: the sums of
 * squares of norm clipping and the non-finite check. Eight GPU update tiles: with nothing to write,
 * a tile's fixed costs weigh more, and on lavapipe one long tile read 1.4x as fast as eight short
 * ones (sum_squares.wgsl).
 */
export const REDUCE_TILE_ELEMENTS = 8 * TILE_ELEMENTS;
/**
 * Partial sums one thread of clip_norms.wgsl adds alone; a variable with more is added up by the
 * whole workgroup (SERIAL_PARTIALS there; 64 is 2M elements).
 */
export const SERIAL_PARTIALS = 64;
/** Pairs per radix sort block, one workgroup's (WORKGROUP_SIZE * ITEMS in radix_sort.wgsl). */
export const RADIX_BLOCK = 4096;
/** Key bits per radix sort pass. */
export const RADIX_BITS = 4;
/** Entries of `skipNonFinite`'s learning-rate table (LR_WINDOW in non_finite.wgsl). */
export const LR_WINDOW = 16;

type LayoutName = keyof typeof BINDINGS;

/** The sparse update's rule: one accumulator per element (Keras) or per row (FBGEMM). */
export type SparseKernel = "element" | "row";

interface DeviceCache {
  layouts: Map<LayoutName, GPUBindGroupLayout>;
  modules: Map<string, GPUShaderModule>;
  pipelines: Map<string, GPUComputePipeline>;
  kernels: Map<string, Kernels>;
}

const caches = new WeakMap<GPUDevice, DeviceCache>();

function cacheOf(device: GPUDevice): DeviceCache {
  let cache = caches.get(device);
  if (!cache) {
    cache = { layouts: new Map(), modules: new Map(), pipelines: new Map(), kernels: new Map() };
    caches.set(device, cache);
  }
  return cache;
}

/**
 * The kernels of one device and specialisation. Pipelines compile on first use: a step without
 * clipping never compiles the norm kernels, a dense-only optimizer never the sort.
 */
export class Kernels {
  readonly device: GPUDevice;
  readonly spec: Specialisation;
  /** Threads per workgroup of the element kernels. */
  readonly workgroupSize: number;
  /** Threads per workgroup of the sparse kernels: a power of two, as the sort needs. */
  readonly sparseWorkgroupSize: number;
  /** Pairs one sort workgroup holds: twice the sparse workgroup size. */
  readonly sortBlock: number;
  /** Threads per workgroup of the radix sort (its workgroup memory grows with it). */
  readonly radixWorkgroupSize: number;
  /** Pairs per radix sort block: ITEMS (radix_sort.wgsl) per thread. */
  readonly radixBlock: number;
  /** Key bits per radix pass (RADIX_BITS in radix_sort.wgsl). */
  readonly radixBits: number;
  /** Consecutive pairs per radix thread (ITEMS in radix_sort.wgsl). */
  readonly radixItems: number;
  readonly maxWorkgroupsPerDimension: number;
  readonly #cache: DeviceCache;

  /** Elements per update tile (one workgroup's): by adapter (dispatchShapeFor). */
  get tileElements(): number {
    return dispatchShapeFor(this.device).tileElements;
  }

  /** Whether a group holding a window deals its sparse tiles out: by adapter. */
  get dealSparse(): boolean {
    return dispatchShapeFor(this.device).dealSparse;
  }

  /** Lanes per row of the row kernel (1: one thread per row), at most a workgroup's: by adapter. */
  get rowLanes(): number {
    return Math.max(1, Math.min(dispatchShapeFor(this.device).rowLanes, this.sparseWorkgroupSize));
  }

  /** Rows per tile (one workgroup's) of the row kernel. */
  get rowsPerTile(): number {
    return this.sparseWorkgroupSize / this.rowLanes;
  }

  constructor(device: GPUDevice, spec: Specialisation) {
    this.device = device;
    this.spec = spec;
    this.#cache = cacheOf(device);
    const limits = device.limits;
    this.workgroupSize = Math.min(
      256,
      limits.maxComputeInvocationsPerWorkgroup,
      limits.maxComputeWorkgroupSizeX,
    );
    this.sparseWorkgroupSize = 2 ** Math.floor(Math.log2(this.workgroupSize));
    this.sortBlock = 2 * this.sparseWorkgroupSize;
    // `offsets` in radix_sort.wgsl (2^bits x threads u32) in at most 8 KiB of workgroup memory.
    // Wider digits mean fewer passes but fewer threads: on lavapipe 7 bits (16 threads) was 11%
    // faster than 4 (128 threads) for a million indices; 4 keeps workgroups GPU-sized.
    this.radixBits = RADIX_BITS;
    this.radixWorkgroupSize = Math.min(128, this.sparseWorkgroupSize, 2048 >> this.radixBits);
    this.radixItems = RADIX_BLOCK / this.radixWorkgroupSize;
    this.radixBlock = RADIX_BLOCK;
    this.maxWorkgroupsPerDimension = limits.maxComputeWorkgroupsPerDimension;
  }

  /** The bind group layout of `name` (src/_kernels/shader_interface.ts). */
  layout(name: LayoutName): GPUBindGroupLayout {
    let layout = this.#cache.layouts.get(name);
    if (!layout) {
      layout = this.device.createBindGroupLayout({
        label: `webgpu-adagrad ${name}`,
        entries: Object.entries(BINDINGS[name]).map(([binding, type]) => ({
          binding: Number(binding),
          visibility: 0x4, // GPUShaderStage.COMPUTE
          buffer: {
            type,
            hasDynamicOffset: DYNAMIC_OFFSETS[name]?.includes(Number(binding)) ?? false,
          },
        })),
      });
      this.#cache.layouts.set(name, layout);
    }
    return layout;
  }

  /** A bind group for layout `name`, with `resources` in the order of its binding numbers. */
  bindGroup(
    name: LayoutName,
    label: string,
    resources: readonly (GPUBuffer | GPUBufferBinding)[],
  ): GPUBindGroup {
    const bindings = Object.keys(BINDINGS[name]).map(Number);
    if (resources.length !== bindings.length) {
      throw new Error(
        `webgpu-adagrad: ${name} takes ${bindings.length} buffers, not ${resources.length}`,
      );
    }
    return this.device.createBindGroup({
      label,
      layout: this.layout(name),
      entries: bindings.map((binding, i) => {
        const r = resources[i];
        return { binding, resource: "size" in r && "usage" in r ? { buffer: r } : r };
      }),
    });
  }

  /**
   * The fused dense update (adagrad_dense.wgsl) for gradients in `layout`, in `phase` of a
   * gradient accumulation.
   */
  update(layout: GradientLayout, phase: Phase = Phase.step): GPUComputePipeline {
    return this.#rule(
      ADAGRAD_DENSE_WGSL,
      entryPoint("update", layout),
      "update",
      this.workgroupSize,
      { PHASE: phase, LANE_BLOCK: dispatchShapeFor(this.device).laneBlock },
    );
  }

  /** The update of touched rows: element-wise (adagrad_sparse.wgsl) or row-wise. */
  sparseUpdate(rule: SparseKernel): GPUComputePipeline {
    const size = this.sparseWorkgroupSize;
    if (rule === "element") {
      return this.#rule(ADAGRAD_SPARSE_WGSL, "sparse_update", "sparseUpdate", size);
    }
    const lanes = this.rowLanes;
    return lanes === 1
      ? this.#rule(ROWWISE_ADAGRAD_WGSL, "rowwise_update", "sparseUpdate", size)
      : this.#rule(ROWWISE_ADAGRAD_WGSL, "rowwise_update_lanes", "sparseUpdate", size, {
        ROW_LANES: lanes,
      });
  }

  /** An update kernel, specialised on the whole step. */
  #rule(
    code: string,
    entry: string,
    layout: LayoutName,
    size: number,
    more: Record<string, number> = {},
  ): GPUComputePipeline {
    const s = this.spec;
    return this.#pipeline(code, entry, layout, {
      WORKGROUP_SIZE: size,
      RULE: s.rule,
      RULE_SUMS: s.ruleSums ? 1 : 0,
      RULE_READS_VARIABLE: s.ruleReadsVariable ? 1 : 0,
      EMA: s.ema ? 1 : 0,
      ACCUMULATE: s.accumulate ? 1 : 0,
      EPSILON_INSIDE_SQRT: s.epsilonInsideSqrt ? 1 : 0,
      CLIP_VALUE: s.clipValue ? 1 : 0,
      NORM_MODE: s.normMode,
      SKIP_NON_FINITE: s.skipNonFinite ? 1 : 0,
      LOSS_SCALE: s.lossScale,
      ROW_DECAY: s.rowDecay,
      MAX_NORM: s.maxNorm ? 1 : 0,
      STATE_FORMAT: s.stateFormat,
      WEIGHT_FORMAT: s.weightFormat,
      ...more,
    });
  }

  /**
   * Norm clipping pass 1 (sum_squares.wgsl) over gradients in `layout`; `prepared`: over Keras 3's
   * accumulated mean, which needs no unscaling.
   */
  sumSquares(layout: GradientLayout, prepared = false): GPUComputePipeline {
    return this.#pipeline(SUM_SQUARES_WGSL, entryPoint("sum_squares", layout), "sumSquares", {
      WORKGROUP_SIZE: this.workgroupSize,
      RULE: this.spec.rule,
      CLIP_VALUE: this.spec.clipValue ? 1 : 0,
      LOSS_SCALE: this.spec.lossScale,
      PREPARED: prepared ? 1 : 0,
    });
  }

  /** Norm clipping pass 2 (clip_norms.wgsl). */
  get clipNorms(): GPUComputePipeline {
    return this.#pipeline(CLIP_NORMS_WGSL, "clip_norms", "clipNorms", {
      WORKGROUP_SIZE: this.workgroupSize,
      NORM_MODE: this.spec.normMode,
      SERIAL_PARTIALS,
    });
  }

  /** Sort keys of the step's indices (sparse_keys.wgsl). */
  get sparseKeys(): GPUComputePipeline {
    return this.#pipeline(SPARSE_KEYS_WGSL, "sparse_keys", "sparseKeys", {
      WORKGROUP_SIZE: this.sparseWorkgroupSize,
    });
  }

  /** One of the bitonic sort's kernels (bitonic_sort.wgsl). */
  sort(kind: "block" | "merge" | "step"): GPUComputePipeline {
    return this.#pipeline(BITONIC_SORT_WGSL, `sort_${kind}`, "sort", {
      WORKGROUP_SIZE: this.sparseWorkgroupSize,
      BLOCK: this.sortBlock,
    });
  }

  /** One of the radix sort's kernels (radix_sort.wgsl). */
  radix(kind: "histogram" | "scan" | "scatter"): GPUComputePipeline {
    return this.#pipeline(RADIX_SORT_WGSL, `radix_${kind}`, "radix", {
      WORKGROUP_SIZE: this.radixWorkgroupSize,
      RADIX_BITS: this.radixBits,
      ITEMS: this.radixItems,
    });
  }

  /** The non-finite check (non_finite.wgsl) of gradients in `layout`. */
  checkFinite(layout: GradientLayout): GPUComputePipeline {
    return this.#pipeline(NON_FINITE_WGSL, entryPoint("check_finite", layout), "checkFinite", {
      WORKGROUP_SIZE: this.workgroupSize,
    });
  }

  /** `skipNonFinite`'s verdict (non_finite.wgsl). */
  get finalize(): GPUComputePipeline {
    return this.#pipeline(NON_FINITE_WGSL, "finalize", "finalize", { LR_WINDOW });
  }

  /** Float16 values widened to float32 (widen_f16.wgsl). */
  get widenF16(): GPUComputePipeline {
    return this.#pipeline(WIDEN_F16_WGSL, "widen_f16", "widen", {
      WORKGROUP_SIZE: this.workgroupSize,
    });
  }

  /** A dynamic loss scale's update and verdict (non_finite.wgsl). */
  get lossScaleUpdate(): GPUComputePipeline {
    return this.#pipeline(NON_FINITE_WGSL, "update_loss_scale", "lossScale", {});
  }

  #pipeline(
    code: string,
    entryPoint: string,
    layout: LayoutName,
    constants: Record<string, number>,
  ): GPUComputePipeline {
    const cache = this.#cache;
    const key = `${entryPoint}:${JSON.stringify(constants)}`; // entry points are unique
    let p = cache.pipelines.get(key);
    if (!p) {
      let module = cache.modules.get(code);
      if (!module) {
        module = this.device.createShaderModule({ label: `webgpu-adagrad ${entryPoint}`, code });
        cache.modules.set(code, module);
      }
      p = this.device.createComputePipeline({
        label: `webgpu-adagrad ${key}`,
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [this.layout(layout)] }),
        compute: { module, entryPoint, constants },
      });
      cache.pipelines.set(key, p);
    }
    return p;
  }
}

/** The kernels for `device` and `spec`, one object per distinct specialisation. */
export function kernelsFor(device: GPUDevice, spec: Specialisation): Kernels {
  const cache = cacheOf(device);
  const key = specialisationKey(spec);
  let kernels = cache.kernels.get(key);
  if (!kernels) cache.kernels.set(key, kernels = new Kernels(device, spec));
  return kernels;
}
