// Getting a WebGPU device in tests, on any runtime. A missing adapter is a failure, never a skip:
// the tests exist to run on a real adapter (lavapipe where there is no GPU).

import { requestDevice as requestLibraryDevice } from "../mod.ts";
import { COPY_DST, COPY_SRC, MAP_MODE_READ, MAP_READ, STORAGE } from "../src/_common/usage.ts";
import { patch } from "../tools/_patch.ts";

let gpu: GPU | undefined; // module-level: keeps Dawn's instance alive under Node

/**
 * The runtime's WebGPU entry point: `navigator.gpu` on Deno; Dawn's Node addon (npm `webgpu`) on
 * Node, and on Bun too, because bun-webgpu 0.1.7 rejects any `requiredLimits` and some tests need
 * the adapter's limits (the Bun consumer check in scripts/npm_checks.ts runs on bun-webgpu).
 */
async function getGpu(): Promise<GPU> {
  if (gpu) return gpu;
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return gpu = nav.gpu;
  const spec = "webgpu";
  const { create, globals } = await import(spec);
  Object.assign(globalThis, globals);
  return gpu = create([]) as GPU;
}

/** Which limits to request: the WebGPU defaults, or everything the adapter offers. */
export type LimitsChoice = "default" | "adapter";

/** Requests a device through the package's own helper; throws (fails the test) without adapter. */
export async function requestDevice(limits: LimitsChoice = "default"): Promise<GPUDevice> {
  return await requestLibraryDevice({ gpu: await getGpu(), limits });
}

// One device per limits choice for the whole process. Creating and destroying a device per test
// corrupted the heap of Deno's WebGPU after a few dozen devices (see README, "Why Deno 2.8.3"),
// and a shared device is also how real programs use WebGPU.
const shared = new Map<LimitsChoice, Promise<GPUDevice>>();
const sharedDevices: GPUDevice[] = []; // those of `shared` that have arrived

/** The process's shared device for `limits`. */
export function sharedDevice(limits: LimitsChoice = "default"): Promise<GPUDevice> {
  let device = shared.get(limits);
  if (!device) {
    device = requestDevice(limits).then((d) => {
      sharedDevices.push(d);
      tracking?.watch(d); // first asked for by a running test
      return d;
    });
    shared.set(limits, device);
  }
  return device;
}

/** Anything a test creates and must free: a VariableStore, an optimizer, a GPUBuffer. */
export interface Destroyable {
  destroy(): void;
}

/** Hands `object` to withDevice, which destroys it when the test ends; returns `object`. */
export type Own = <D extends Destroyable>(object: D) => D;

/**
 * The GPU buffers created on the shared devices while a test runs and not destroyed yet. Every
 * test shares those devices, so a buffer a test leaves alive stays for the rest of the process.
 */
class BufferTracker {
  readonly #live = new Map<GPUBuffer, Error>(); // buffer -> where it was created
  readonly #undo: (() => void)[] = [];

  watch(device: GPUDevice): void {
    this.#undo.push(patch(device, "createBuffer", (create) => (descriptor) => {
      const buffer = create(descriptor);
      this.#live.set(buffer, new Error("created"));
      const undo = patch(buffer, "destroy", (destroy) => () => {
        this.#live.delete(buffer);
        undo();
        destroy();
      });
      return buffer;
    }));
  }

  /** Stops watching; returns the buffers still alive, each with a line saying what it is. */
  stop(): Map<GPUBuffer, string> {
    for (const undo of this.#undo.reverse()) undo();
    return new Map([...this.#live].map(([buffer, created]) => [buffer, describe(buffer, created)]));
  }
}

/** A leaked buffer's label and the first caller outside these helpers, to find the culprit. */
function describe(buffer: GPUBuffer, created: Error): string {
  const frames = (created.stack ?? "").split("\n").filter((l) => /^\s*at /.test(l));
  const caller = frames.find((l) => !/tests\/_(gpu|patch|counting)\.[jt]s/.test(l))?.trim();
  return `'${buffer.label}' (${buffer.size} bytes${caller ? `, created ${caller}` : ""})`;
}

let tracking: BufferTracker | undefined;

/**
 * Runs `fn` with the shared device inside a validation error scope; a WebGPU validation error
 * fails the test. Waits for the GPU to finish the test's work before the next test starts.
 *
 * What the test creates it frees: `own(object)` has it destroyed when `fn` ends (newest first,
 * also when `fn` throws), or the test calls `destroy()` itself. A GPU buffer created during `fn`
 * on a shared device and still alive afterwards fails the test (and is destroyed).
 */
export async function withDevice<T>(
  fn: (device: GPUDevice, own: Own) => Promise<T>,
  limits: LimitsChoice = "default",
): Promise<T> {
  const device = await sharedDevice(limits);
  const owned: Destroyable[] = [];
  const own: Own = (object) => {
    owned.push(object);
    return object;
  };
  const outer = tracking;
  const tracker = tracking = new BufferTracker();
  for (const d of sharedDevices) tracker.watch(d);
  let leaked = new Map<GPUBuffer, string>();
  let error: GPUError | null = null;
  let result: T;
  try {
    device.pushErrorScope("validation");
    try {
      result = await fn(device, own);
    } finally {
      error = await device.popErrorScope();
    }
    await device.queue.onSubmittedWorkDone();
  } finally {
    try {
      // Newest first: an optimizer goes before the store whose variables it updates.
      for (const object of owned.reverse()) object.destroy();
    } finally {
      tracking = outer;
      leaked = tracker.stop();
      // Freed here too, so that one leaking test does not weigh on the ones after it.
      for (const buffer of leaked.keys()) buffer.destroy();
    }
  }
  if (error) throw new Error(`WebGPU validation error: ${error.message}`);
  if (leaked.size > 0) {
    throw new Error(
      `the test left ${leaked.size} GPU buffer(s) alive; destroy them (or their VariableStore ` +
        `or optimizer), or pass them to withDevice's own():\n  ${
          [...leaked.values()].join("\n  ")
        }`,
    );
  }
  return result;
}

/** Reads whole buffers (COPY_SRC) once each and serves float32 slices of them. */
export class Snapshot {
  readonly #device: GPUDevice;
  readonly #cache = new Map<GPUBuffer, Promise<Float32Array>>();

  constructor(device: GPUDevice) {
    this.#device = device;
  }

  #read(buffer: GPUBuffer): Promise<Float32Array> {
    let p = this.#cache.get(buffer);
    if (!p) {
      const device = this.#device;
      const staging = device.createBuffer({ size: buffer.size, usage: MAP_READ | COPY_DST });
      const enc = device.createCommandEncoder();
      enc.copyBufferToBuffer(buffer, 0, staging, 0, buffer.size);
      device.queue.submit([enc.finish()]);
      p = staging.mapAsync(MAP_MODE_READ).then(() => {
        const out = new Float32Array(staging.getMappedRange().slice(0));
        staging.destroy();
        return out;
      });
      this.#cache.set(buffer, p);
    }
    return p;
  }

  /** `byteLength` bytes at `offset` of `buffer`, as float32. */
  async slice(r: { buffer: GPUBuffer; offset: number; byteLength: number }): Promise<Float32Array> {
    const all = await this.#read(r.buffer);
    return all.slice(r.offset / 4, (r.offset + r.byteLength) / 4);
  }
}

/** A STORAGE | COPY_SRC buffer holding `data`: a gradient source such as IndexedSlices takes. */
export function upload(
  device: GPUDevice,
  data: Float32Array | Uint32Array | Int32Array,
): GPUBuffer {
  const buffer = device.createBuffer({
    size: Math.max(4, data.byteLength),
    usage: STORAGE | COPY_SRC,
    mappedAtCreation: true,
  });
  new Uint8Array(buffer.getMappedRange()).set(
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  );
  buffer.unmap();
  return buffer;
}

/**
 * Submits one dispatch of `workgroups` workgroups of `pipeline` (layout "auto"), its group 0 bound
 * to `resources` by binding number: for the tests' own small kernels.
 */
export function dispatchOnce(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  resources: Record<number, GPUBindingResource>,
  workgroups: number,
): void {
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(
    0,
    device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: Object.entries(resources).map(([binding, resource]) => ({
        binding: Number(binding),
        resource,
      })),
    }),
  );
  pass.dispatchWorkgroups(workgroups);
  pass.end();
  device.queue.submit([encoder.finish()]);
}

/** The runtime's WebGPU entry point, for libraries that look for `navigator.gpu` (TF.js). */
export { getGpu as gpuForTfjs };
