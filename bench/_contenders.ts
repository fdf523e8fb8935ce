// The benchmark's contenders, each set up for one case: this package (fused) and the unfused
// baseline and TensorFlow.js's tf.train.adagrad on its WebGPU backend, stepping with gradients
// already on the GPU, and plain JavaScript on the CPU. The ceilings are in _ceilings.ts.
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-webgpu";
import {
  Adagrad,
  type AdagradBase,
  type AdagradOptions,
  type GradientPair,
  IndexedSlices,
  VariableStore,
  type VariableStoreOptions,
} from "../mod.ts";
import { dispatchGrid } from "../src/_kernels/tiles.ts";
import { counting, type Counts } from "../tools/_counting.ts";
import { mulberry32 } from "../examples/_random.ts";
import { JsDenseAdagrad, JsSparseAdagrad } from "./_js_adagrad.ts";

/** A case: dense variables of these sizes, or one sparse table. */
export interface BenchCase {
  name: string;
  sizes: number[];
  clip?: AdagradOptions;
  /**
   * Dense variables as rows of this many elements (shape `[n / width, width]`, not `[n]`): the
   * rows of row-wise Adagrad, which keeps one accumulator per row; element-wise rules ignore it.
   */
  width?: number;
  sparse?: { rows: number; width: number; nnz: number };
}

/** A contender set up for a case. */
export interface Running {
  device: GPUDevice;
  step(): unknown;
  /** Waits until every step so far ran on the GPU. */
  sync(): Promise<void>;
  dispose(): void;
}

const STORAGE = 0x80, COPY_SRC = 0x4, COPY_DST = 0x8, UNIFORM = 0x40;

/** `n` uniform values in [-0.1, 0.1): a case's variables and gradients. */
export function random(n: number): Float32Array<ArrayBuffer> {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (Math.random() - 0.5) * 0.2;
  return out;
}

/** A sparse case's gradient, the same for every contender: indices, value rows, distinct rows. */
export interface SparseData {
  indices: Uint32Array<ArrayBuffer>;
  values: Float32Array<ArrayBuffer>;
  distinctRows: number;
}

const sparseMade = new WeakMap<object, SparseData>();

/**
 * The gradient of a sparse case (made once per case, seeded): a tenth of the indices on 20 hot
 * rows, the rest uniform over the table, so rows repeat; value rows uniform in [-0.1, 0.1).
 */
export function sparseData(s: NonNullable<BenchCase["sparse"]>): SparseData {
  let made = sparseMade.get(s);
  if (made) return made;
  const { rows, width, nnz } = s;
  const random = mulberry32(16);
  const hot = Array.from({ length: 20 }, (_, i) => (i * 7919) % rows);
  const indices = Uint32Array.from(
    { length: nnz },
    (_, i) => i % 10 === 0 ? hot[(i / 10) % 20] : Math.floor(random() * rows),
  );
  const values = Float32Array.from({ length: nnz * width }, () => (random() - 0.5) * 0.2);
  made = { indices, values, distinctRows: new Set(indices).size };
  sparseMade.set(s, made);
  return made;
}

/** How `fused` builds its optimizer and store (a rule's factory; small arenas). */
export interface FusedOptions {
  make?: () => AdagradBase<object>;
  store?: VariableStoreOptions;
}

/**
 * This package: variables in a store, gradients written into their regions (in place; window by
 * window for a variable past one binding).
 */
export function fused(device: GPUDevice, c: BenchCase, options: FusedOptions = {}): Running {
  const store = new VariableStore(device, options.store);
  const opt = options.make?.() ?? new Adagrad({ learningRate: 0.01, ...c.clip });
  if (c.sparse) {
    const { rows, width } = c.sparse;
    const table = store.variable("table", [rows, width], 0.5);
    const { indices, values } = sparseData(c.sparse);
    const upload = (data: Uint32Array | Float32Array) => {
      const b = device.createBuffer({
        size: data.byteLength,
        usage: STORAGE | COPY_SRC,
        mappedAtCreation: true,
      });
      new Uint8Array(b.getMappedRange()).set(new Uint8Array(data.buffer));
      b.unmap();
      return b;
    };
    const [ib, vb] = [upload(indices), upload(values)];
    const slices = new IndexedSlices(vb, ib, [rows, width]);
    return {
      device,
      step: () => opt.applyGradients([[slices, table]]),
      sync: () => device.queue.onSubmittedWorkDone(),
      dispose: () => [opt.destroy(), store.destroy(), ib.destroy(), vb.destroy()],
    };
  }
  const shape = (n: number) => c.width ? [n / c.width, c.width] : [n];
  const vars = c.sizes.map((n, i) => store.variable(`v${i}`, shape(n), random(n)));
  for (const v of vars) {
    for (const w of v.windows) {
      device.queue.writeBuffer(w.grad.buffer, w.grad.offset, random(w.length));
    }
  }
  const pairs = vars.map((v) => [v.split ? v.windows : v.grad, v] as unknown as GradientPair);
  return {
    device,
    step: () => opt.applyGradients(pairs),
    sync: () => device.queue.onSubmittedWorkDone(),
    dispose: () => [opt.destroy(), store.destroy()],
  };
}

/** The unfused baseline: a buffer set, bind group, dispatch and submit per variable. */
export async function unfused(device: GPUDevice, c: BenchCase): Promise<Running> {
  const code = await Deno.readTextFile(new URL("unfused_adagrad.wgsl", import.meta.url));
  const pipeline = device.createComputePipeline({
    layout: "auto",
    compute: { module: device.createShaderModule({ code }), entryPoint: "main" },
  });
  const buffers: GPUBuffer[] = [];
  const make = (data: Float32Array<ArrayBuffer> | Uint32Array<ArrayBuffer>, usage: number) => {
    const b = device.createBuffer({ size: data.byteLength, usage: usage | COPY_DST });
    device.queue.writeBuffer(b, 0, data);
    buffers.push(b);
    return b;
  };
  const jobs = c.sizes.map((n) => {
    const params = new Uint32Array(4);
    new Float32Array(params.buffer, 0, 2).set([0.01, 1e-7]);
    params[2] = n;
    const group = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: make(params, UNIFORM) } },
        { binding: 1, resource: { buffer: make(random(n), STORAGE) } },
        { binding: 2, resource: { buffer: make(new Float32Array(n).fill(0.1), STORAGE) } },
        { binding: 3, resource: { buffer: make(random(n), STORAGE) } },
      ],
    });
    return {
      group,
      grid: dispatchGrid(Math.ceil(n / 256), device.limits.maxComputeWorkgroupsPerDimension),
    };
  });
  return {
    device,
    step() {
      for (const job of jobs) {
        const encoder = device.createCommandEncoder();
        const pass = encoder.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, job.group);
        pass.dispatchWorkgroups(...job.grid);
        pass.end();
        device.queue.submit([encoder.finish()]);
      }
    },
    sync: () => device.queue.onSubmittedWorkDone(),
    dispose: () => buffers.forEach((b) => b.destroy()),
  };
}

interface TfWebGpu {
  device: GPUDevice;
  /** Private in TF.js: the encoder it records into until it submits; null when nothing is pending. */
  commandEncoder: GPUCommandEncoder | null;
  submitQueue(): void;
}

let tfReady: Promise<boolean> | null = null;

/**
 * TensorFlow.js `tf.train.adagrad(0.01)` on its WebGPU backend: one tf.Variable per variable,
 * gradients as tensors made once. For a sparse case it applies the dense gradient of the whole
 * table, since TF.js has no sparse Adagrad.
 */
export async function tfjs(c: BenchCase): Promise<Running> {
  if (!await (tfReady ??= tf.setBackend("webgpu"))) throw new Error("TF.js: no WebGPU backend");
  const backend = tf.backend() as unknown as TfWebGpu;
  const sizes = c.sparse ? [c.sparse.rows * c.sparse.width] : c.sizes;
  const vars = sizes.map((n) => tf.variable(tf.tensor1d(random(n))));
  const grads: { name: string; tensor: tf.Tensor }[] = vars.map((v, i) => ({
    name: v.name,
    tensor: tf.tensor1d(random(sizes[i])),
  }));
  const opt = tf.train.adagrad(0.01);
  return {
    device: backend.device,
    step: () => opt.applyGradients(grads),
    async sync() {
      if (backend.commandEncoder) backend.submitQueue();
      await backend.device.queue.onSubmittedWorkDone();
    },
    dispose() {
      opt.dispose();
      vars.forEach((v) => v.dispose());
      grads.forEach((g) => g.tensor.dispose());
    },
  };
}

/**
 * Plain JavaScript on the CPU (_js_adagrad.ts): Float32Arrays, float32 math, one thread; the
 * case's clipping; for a sparse case the same indices and values as the package gets. `device`
 * is only carried (nothing runs on it).
 */
export function js(device: GPUDevice, c: BenchCase): Running {
  let contender: { step(): unknown };
  if (c.sparse) {
    const { indices, values } = sparseData(c.sparse);
    const table = new Float32Array(c.sparse.rows * c.sparse.width).fill(0.5);
    contender = new JsSparseAdagrad(table, c.sparse.width, indices, values, { learningRate: 0.01 });
  } else {
    contender = new JsDenseAdagrad(c.sizes.map(random), c.sizes.map(random), {
      learningRate: 0.01,
      clipnorm: c.clip?.clipnorm,
      globalClipnorm: c.clip?.globalClipnorm,
    });
  }
  return {
    device,
    step: () => contender.step(),
    sync: () => Promise.resolve(),
    dispose() {},
  };
}

/** Dispatches and submits of one step (after warm-up), counted on the contender's device. */
export async function countStep(running: Running): Promise<Counts> {
  await running.step();
  await running.sync();
  let counted: Counts | undefined;
  await counting(running.device, async (counts) => {
    await running.step();
    await running.sync();
    counted = counts;
  });
  return counted!;
}
