// Shared by the benchmarks: a device with the adapter's large-buffer limits, and a timer that
// reports the median milliseconds per step over rounds of steps between GPU synchronisations.

/** A device with the adapter's own buffer limits (the defaults cap bindings at 128 MiB). */
export async function benchDevice(): Promise<
  { device: GPUDevice; description: string; fallback: boolean }
> {
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
  // A fallback adapter is software (lavapipe, SwiftShader, WARP): it runs on the CPU.
  const fallback = (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return { device, description, fallback };
}

/**
 * Median milliseconds per step: warm-up steps, then `rounds` rounds of `steps` steps, each round
 * timed from its first call until `sync` (by default `onSubmittedWorkDone`) after its last. Slow
 * contenders (a warm step over 50 ms) get fewer steps per round, so that a case takes seconds,
 * not minutes; every round still holds at least one whole step.
 */
export async function msPerStep(
  device: GPUDevice,
  step: () => unknown,
  {
    warmup = 5,
    rounds = 7,
    steps = 10,
    sync = (): Promise<unknown> => device.queue.onSubmittedWorkDone(),
  }: { warmup?: number; rounds?: number; steps?: number; sync?: () => Promise<unknown> } = {},
): Promise<number> {
  // The first step pays one-time costs (arenas, slots, pipelines): time the second one.
  await step();
  await sync();
  const t0 = performance.now();
  await step();
  await sync();
  const first = performance.now() - t0;
  if (first > 50) {
    warmup = Math.min(warmup, 2);
    steps = Math.max(1, Math.min(steps, Math.round(250 / first)));
    rounds = Math.min(rounds, 5);
  }
  for (let i = 2; i < warmup; i++) await step();
  await sync();
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    for (let i = 0; i < steps; i++) await step();
    await sync();
    times.push((performance.now() - start) / steps);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}
