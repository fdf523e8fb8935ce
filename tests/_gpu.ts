// Getting a WebGPU device in tests, on any runtime. A missing adapter is a failure, never a skip:
// the tests exist to run on a real adapter (lavapipe where there is no GPU).

import { requestDevice as requestLibraryDevice } from "../mod.ts";

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

/** The process's shared device for `limits`. */
export function sharedDevice(limits: LimitsChoice = "default"): Promise<GPUDevice> {
  let device = shared.get(limits);
  if (!device) {
    device = requestDevice(limits);
    shared.set(limits, device);
  }
  return device;
}

/**
 * Runs `fn` with the shared device inside a validation error scope; a WebGPU validation error
 * fails the test. Waits for the GPU to finish the test's work before the next test starts.
 */
export async function withDevice<T>(
  fn: (device: GPUDevice) => Promise<T>,
  limits: LimitsChoice = "default",
): Promise<T> {
  const device = await sharedDevice(limits);
  device.pushErrorScope("validation");
  let result: T;
  try {
    result = await fn(device);
  } catch (e) {
    await device.popErrorScope();
    throw e;
  }
  const error = await device.popErrorScope();
  await device.queue.onSubmittedWorkDone();
  if (error) throw new Error(`WebGPU validation error: ${error.message}`);
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
      const staging = device.createBuffer({ size: buffer.size, usage: 0x1 | 0x8 });
      const enc = device.createCommandEncoder();
      enc.copyBufferToBuffer(buffer, 0, staging, 0, buffer.size);
      device.queue.submit([enc.finish()]);
      p = staging.mapAsync(0x1).then(() => {
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
    usage: 0x80 | 0x4, // STORAGE | COPY_SRC
    mappedAtCreation: true,
  });
  new Uint8Array(buffer.getMappedRange()).set(
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  );
  buffer.unmap();
  return buffer;
}
