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

/** Something timed: a step, and a wait until every step so far has finished. */
export interface Timed {
  step(): unknown;
  sync(): Promise<unknown>;
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
    sync = (): Promise<unknown> => device.queue.onSubmittedWorkDone(),
    ...options
  }: { warmup?: number; rounds?: number; steps?: number; sync?: () => Promise<unknown> } = {},
): Promise<number> {
  const [{ ms }] = await msPerStepEach([{ step, sync }], options);
  return ms;
}

/**
 * `msPerStep` of several contenders at once, their rounds interleaved (round r of each, in an
 * order that rotates, then round r + 1), so that load from elsewhere on a shared machine falls on
 * all of them alike and their ratios hold better than their absolute times. Each keeps its own
 * steps per round; all run the same number of rounds (`slowRounds`, 5 by default, when any is
 * slow). Returns each one's median and its ms per step round by round (round r of every
 * contender ran in the same sweep).
 */
export async function msPerStepEach(
  contenders: Timed[],
  { warmup = 5, rounds = 7, steps = 10, slowRounds = 5 }: {
    warmup?: number;
    rounds?: number;
    steps?: number;
    slowRounds?: number;
  } = {},
): Promise<{ ms: number; rounds: number[] }[]> {
  const perRound: number[] = [];
  const warmups: number[] = [];
  for (const c of contenders) {
    // The first step pays one-time costs (arenas, slots, pipelines): time the second one.
    await c.step();
    await c.sync();
    const t0 = performance.now();
    await c.step();
    await c.sync();
    const first = performance.now() - t0;
    const slow = first > 50;
    perRound.push(slow ? Math.max(1, Math.min(steps, Math.round(250 / first))) : steps);
    warmups.push(slow ? Math.min(warmup, 2) : warmup);
    if (slow) rounds = Math.min(rounds, slowRounds);
  }
  for (const [k, c] of contenders.entries()) {
    for (let i = 2; i < warmups[k]; i++) await c.step();
    await c.sync();
  }
  const times: number[][] = contenders.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < contenders.length; j++) {
      const k = (r + j) % contenders.length;
      const c = contenders[k];
      const start = performance.now();
      for (let i = 0; i < perRound[k]; i++) await c.step();
      await c.sync();
      times[k].push((performance.now() - start) / perRound[k]);
    }
  }
  return times.map((rounds) => ({ ms: median(rounds), rounds }));
}

/** The median of `values` (the upper one of an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** A contender that can be disposed of. */
export type Made = Timed & { dispose(): void };

/**
 * One A/B row: B's time over A's: both made and timed in one order, disposed, then made and timed again in the
 * other, the medians taken over the rounds of both. Of two identical 1.5 GiB dense cases, the one
 * made first measured up to 5% apart from the other in scratch runs: making each first once cancels
 * that.
 */
export async function timePair(
  name: string,
  makeA: () => Made,
  makeB: () => Made,
  rounds = 7,
): Promise<{ name: string; a: number; b: number; ratio: number }> {
  const times: number[][] = [[], []];
  for (const first of [0, 1]) {
    const made: Made[] = [];
    made[first] = [makeA, makeB][first]();
    made[1 - first] = [makeA, makeB][1 - first]();
    const results = await msPerStepEach(made, { rounds, steps: 3, warmup: 2 });
    results.forEach((r, k) => times[k].push(...r.rounds));
    for (const m of made) m.dispose();
  }
  const [a, b] = times.map(median);
  return { name, a, b, ratio: b / a };
}
