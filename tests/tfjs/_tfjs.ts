// TF.js on the tests' shared device, on any runtime, and the models the TF.js tests train.
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-webgpu";
import * as tfl from "@tensorflow/tfjs-layers";
import { useDeviceForTfjs } from "../../tfjs.ts";
import { sharedDevice } from "../_gpu.ts";
import { rng } from "../_reference.ts";
import { patch } from "../../tools/_patch.ts";

/**
 * Makes TF.js's active backend a WebGPU one on the tests' shared device (one device in the
 * process) and returns the device. Node and Bun have no `navigator.gpu`, which TF.js's backend
 * looks for: it gets the GPU object the device came from.
 */
export async function tfjsOnSharedDevice(): Promise<GPUDevice> {
  const device = await sharedDevice();
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (!g.navigator?.gpu) {
    const { gpuForTfjs } = await import("../_gpu.ts");
    Object.defineProperty(globalThis, "navigator", {
      value: { ...(g.navigator ?? {}), gpu: await gpuForTfjs() },
      configurable: true,
    });
  }
  await useDeviceForTfjs(device, "webgpu-tests");
  return device;
}

/** A model with an embedding and dense layers, its weights seeded (never zeros). */
export function embeddingModel(seed: number): tfl.LayersModel {
  const model = tfl.sequential({
    layers: [
      tfl.layers.embedding({ inputDim: 37, outputDim: 5, inputLength: 6 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 13, activation: "tanh" }),
      tfl.layers.dense({ units: 3 }),
    ],
  });
  const random = rng(seed);
  const weights = model.getWeights().map((w) => {
    const values = Float32Array.from({ length: w.size }, () => (random() - 0.5) * 0.8);
    return tf.tensor(values, w.shape);
  });
  model.setWeights(weights);
  tf.dispose(weights);
  return model;
}

/** Inputs (row ids) and targets for embeddingModel, seeded. */
export function embeddingData(seed: number, n: number): { x: tf.Tensor; y: tf.Tensor } {
  const random = rng(seed);
  const ids = Int32Array.from({ length: n * 6 }, () => Math.floor(random() * 37));
  const targets = Float32Array.from({ length: n * 3 }, () => random() * 2 - 1);
  return { x: tf.tensor2d(ids, [n, 6], "int32"), y: tf.tensor2d(targets, [n, 3]) };
}

/**
 * A tensor's values computed anew on the GPU (`t + 0`), not TF.js's CPU copy of them, which a
 * read caches: what the buffer holds now.
 */
export async function readFresh(t: tf.Tensor): Promise<Float32Array> {
  const copy = tf.tidy(() => tf.add(t, tf.scalar(0)));
  try {
    return new Float32Array(await copy.data());
  } finally {
    copy.dispose();
  }
}

/** Every trainable weight of a model, by position, read back. */
export async function weightsOf(model: tfl.LayersModel): Promise<Float32Array[]> {
  return await Promise.all(
    model.trainableWeights.map(async (w) => new Float32Array(await w.read().data())),
  );
}

/**
 * Runs a TF.js test with TF.js on the shared device, and fails it when a GPU buffer created
 * during it by anything other than TF.js's buffer manager (TfjsAdagrad's arenas, slots and step
 * buffers) is still alive at its end; those are destroyed. tests/_gpu.ts's withDevice cannot be
 * used: TF.js keeps the buffers of freed tensors in a pool, alive, for reuse.
 */
export async function withTfjs(fn: () => Promise<void>): Promise<void> {
  const device = await tfjsOnSharedDevice();
  const manager = (tf.backend() as unknown as { bufferManager: { acquireBuffer: () => unknown } })
    .bufferManager;
  let inTfjs = 0;
  const live = new Map<GPUBuffer, string>();
  const undo = [
    patch(manager, "acquireBuffer", (acquire) => (...args: unknown[]) => {
      inTfjs++;
      try {
        return acquire(...args);
      } finally {
        inTfjs--;
      }
    }),
    patch(device, "createBuffer", (create) => (descriptor) => {
      const buffer = create(descriptor);
      if (inTfjs > 0) return buffer;
      live.set(buffer, `'${buffer.label}' (${buffer.size} bytes)`);
      const restore = patch(buffer, "destroy", (destroy) => () => {
        live.delete(buffer);
        restore();
        destroy();
      });
      return buffer;
    }),
  ];
  try {
    await fn();
  } finally {
    for (const u of undo.reverse()) u();
  }
  await device.queue.onSubmittedWorkDone();
  const leaked = [...live.values()];
  for (const buffer of live.keys()) buffer.destroy();
  if (leaked.length > 0) {
    throw new Error(`the test left ${leaked.length} GPU buffer(s) alive: ${leaked.join(", ")}`);
  }
}
