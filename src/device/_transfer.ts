import { COPY_DST, MAP_MODE_READ, MAP_READ } from "../_common/usage.ts";
import { assertDeviceAliveSoon } from "./device_lost.ts";

/**
 * Copies `byteLength` bytes at `offset` of `buffer` (which needs COPY_SRC) to the CPU. For reads
 * a user asks for (`read()`, checkpoints), never on the per-step path.
 */
export async function readFloats(
  device: GPUDevice,
  buffer: GPUBuffer,
  offset: number,
  byteLength: number,
): Promise<Float32Array> {
  return new Float32Array((await readBytes(device, buffer, offset, byteLength)).buffer);
}

/** As readFloats, the bytes as stored (for a NumberFormat to decode). */
export async function readBytes(
  device: GPUDevice,
  buffer: GPUBuffer,
  offset: number,
  byteLength: number,
): Promise<Uint8Array> {
  const staging = device.createBuffer({
    label: "webgpu-adagrad readback",
    size: byteLength,
    usage: MAP_READ | COPY_DST,
  });
  try {
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, offset, staging, 0, byteLength);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(MAP_MODE_READ);
    return new Uint8Array(staging.getMappedRange().slice(0));
  } catch (e) {
    await assertDeviceAliveSoon(device, "read"); // a lost device is the likely cause: say so
    throw e;
  } finally {
    staging.destroy();
  }
}

/**
 * `queue.writeBuffer` of float32 values. WebGPU accepts views of shared memory too
 * (`GPUAllowSharedBufferSource`); some runtimes' type declarations say `BufferSource`, hence the cast.
 */
export function writeFloats(
  device: GPUDevice,
  buffer: GPUBuffer,
  offset: number,
  data: Float32Array,
  dataOffset = 0,
  size?: number,
): void {
  device.queue.writeBuffer(buffer, offset, data as Float32Array<ArrayBuffer>, dataOffset, size);
}

/** `queue.writeBuffer` of stored bytes (a NumberFormat's encoding), as writeFloats. */
export function writeBytes(
  device: GPUDevice,
  buffer: GPUBuffer,
  offset: number,
  data: Uint8Array,
): void {
  device.queue.writeBuffer(buffer, offset, data as Uint8Array<ArrayBuffer>);
}
