// Shared by the benchmarks: a device with the adapter's large-buffer limits, and a timer that
// reports the median milliseconds per step over rounds of steps between GPU synchronisations.

/** A device with the adapter's own buffer limits (the defaults cap bindings at 128 MiB). */
export async function benchDevice(): Promise<{ device: GPUDevice; description: string }> {
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) throw new Error("no WebGPU adapter (see README: scripts/setup.sh installs one)");
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
    },
  });
  const info = adapter.info;
  const description = info.description || info.device || info.vendor || "unknown adapter";
  return { device, description };
}

/**
 * Median milliseconds per step: `warmup` steps, then `rounds` rounds of `steps` steps, each round
 * timed from its first call until `sync` (by default `onSubmittedWorkDone`) after its last.
 */
export async function msPerStep(
  device: GPUDevice,
  step: () => unknown,
  { warmup = 5, rounds = 7, steps = 10, sync = () => device.queue.onSubmittedWorkDone() } = {},
): Promise<number> {
  for (let i = 0; i < warmup; i++) await step();
  await sync();
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await step();
    await sync();
    times.push((performance.now() - t0) / steps);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}
