import { COPY_DST, COPY_SRC, STORAGE } from "../_common/usage.ts";

/**
 * A storage buffer whose every float32 is `value`, written through `mappedAtCreation` (no staging
 * copy); for accumulators and the optimizer's own weights.
 */
export function createFilledBuffer(
  device: GPUDevice,
  byteLength: number,
  value: number,
  label: string,
): GPUBuffer {
  const buffer = device.createBuffer({
    label,
    size: byteLength,
    usage: STORAGE | COPY_SRC | COPY_DST,
    mappedAtCreation: value !== 0,
  });
  if (value !== 0) {
    new Float32Array(buffer.getMappedRange()).fill(value);
    buffer.unmap();
  }
  return buffer;
}
