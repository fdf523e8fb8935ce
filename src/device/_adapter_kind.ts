// Whether a device runs on a fallback (CPU) adapter, lavapipe or SwiftShader, where the step
// takes a dispatch shape of its own (src/_kernels/kernels.ts). Known for devices made by requestDevice, which reads the adapter
// while it is alive. Deno 2.8.3 panics (wgpu-core: "Adapter does not exist") when
// `device.adapterInfo` is read after the adapter object was garbage-collected, so on Deno a device
// made elsewhere is not asked and counts as a GPU.

const fallback = new WeakMap<GPUDevice, boolean>();

/** Records what `adapter` is, for the device made from it. */
export function noteAdapter(device: GPUDevice, adapter: GPUAdapter): void {
  const info = (adapter as { info?: { isFallbackAdapter?: boolean } }).info;
  fallback.set(device, info?.isFallbackAdapter === true);
}

/** Whether `device` runs on a fallback adapter (false where that cannot be told safely). */
export function isFallbackDevice(device: GPUDevice): boolean {
  let known = fallback.get(device);
  if (known === undefined) {
    const deno = (globalThis as { Deno?: unknown }).Deno !== undefined;
    const info = deno
      ? undefined
      : (device as { adapterInfo?: { isFallbackAdapter?: boolean } }).adapterInfo;
    known = info?.isFallbackAdapter === true;
    fallback.set(device, known);
  }
  return known;
}
