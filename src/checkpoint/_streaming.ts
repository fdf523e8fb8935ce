// Carrying out a save or a restore plan, window by window (_windows.ts), through _tensor_io.ts.
// A save reads each window back from the GPU (_window_reader.ts: one submit and one mapAsync per
// window, two staging buffers per device in turn) and hands it to a sink: a file, or the bytes of
// saveCheckpoint. A restore reads each window from a source and queues its writes, then waits
// for the GPU, so that the runtime's own staging holds one window rather than the whole model.
import { alignUp } from "../_common/layout.ts";
import type { RestorePlan } from "./_restore_plan.ts";
import type { SavePlan } from "./_save_plan.ts";
import { targetDevice, type TensorTarget, writeTensorChunk } from "./_tensor_io.ts";
import { checkpointChunkBytes, windows } from "./_windows.ts";
import { type MappedWindow, WindowReader } from "./_window_reader.ts";

/** Where a save's windows go. */
export interface SaveSink {
  /** The bytes to fill with data bytes `[start, start + length)`. */
  window(start: number, length: number): Uint8Array;
  /** Called with each window once it is filled, in order; the next waits for it. */
  flush(bytes: Uint8Array, start: number): Promise<void> | void;
}

/**
 * Reads every tensor of `plan` (from the GPU, or from the plan itself) into `sink`, window by
 * window: window k + 1 is copied on the GPU while window k goes to the sink.
 */
export async function streamSave(plan: SavePlan, sink: SaveSink, caller: string): Promise<void> {
  const chunk = checkpointChunkBytes();
  const stagingSize = alignUp(Math.max(4, Math.min(chunk, plan.dataLength)), 4);
  const reader = new WindowReader(plan.tensors, stagingSize, caller);
  const all = windows(plan.tensors, chunk);
  let next = all.next();
  let pending: Promise<MappedWindow> | null = null;
  try {
    pending = next.done ? null : handled(reader.begin(next.value, 0));
    for (let parity: 0 | 1 = 0; !next.done; parity = parity === 0 ? 1 : 0) {
      const w = next.value;
      const copyInto = await pending!;
      next = all.next();
      pending = next.done ? null : handled(reader.begin(next.value, parity === 0 ? 1 : 0));
      const out = sink.window(w.start, w.length);
      copyInto(out);
      await sink.flush(out, w.start);
    }
  } finally {
    await pending?.catch(() => {}); // a save that failed mid-way: its last read is let go
    reader.destroy();
  }
}

/**
 * `promise`, marked as handled: it may reject while the caller awaits something else, and is
 * awaited (and its rejection thrown) later.
 */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/** Makes the plan's slots and finds every target, all before the first write. */
function resolve(plan: RestorePlan): TensorTarget[] {
  const targets = plan.tensors.map((t) => t.target());
  for (const target of targets) targetDevice(target);
  return targets;
}

/** Carries out `plan` from a checkpoint's data section in memory, synchronously. */
export function restoreFromBytes(plan: RestorePlan, data: Uint8Array): void {
  const targets = resolve(plan);
  plan.tensors.forEach(({ layout }, i) => {
    writeTensorChunk(targets[i], 0, data.subarray(layout.begin, layout.end));
  });
  plan.finish();
}

/**
 * Carries out `plan`, reading each window of the data section with `read(into, start)`, which
 * fills `into` with data bytes from `start`.
 */
export async function streamRestore(
  plan: RestorePlan,
  read: (into: Uint8Array, start: number) => Promise<void>,
): Promise<void> {
  const targets = resolve(plan);
  const chunk = checkpointChunkBytes();
  const ranges = plan.tensors.map((t) => t.layout);
  const span = ranges.length > 0 ? ranges[ranges.length - 1].end - ranges[0].begin : 0;
  const buffer = new Uint8Array(Math.min(chunk, span));
  const devices = new Set(targets.map(targetDevice));
  const all = windows(ranges, chunk);
  let next = all.next();
  let reading: Promise<void> | null = null;
  const readNext = () =>
    next.done ? null : handled(read(buffer.subarray(0, next.value.length), next.value.start));
  try {
    reading = readNext();
    while (!next.done) {
      const w = next.value;
      await reading;
      const bytes = buffer.subarray(0, w.length);
      for (const { tensor, firstByte, byteLength, at } of w.pieces) {
        writeTensorChunk(targets[tensor], firstByte / 4, bytes.subarray(at, at + byteLength));
      }
      // Some runtimes keep queued writes in their own staging until the next submit; waiting for
      // them keeps that staging to one window. writeBuffer has copied the bytes: the next window
      // is read into the same buffer meanwhile.
      for (const device of devices) device.queue.submit([]);
      next = all.next();
      reading = readNext();
      await Promise.all([...devices].map((device) => device.queue.onSubmittedWorkDone()));
    }
  } finally {
    await reading?.catch(() => {}); // a restore that failed mid-way: its last read is let go
  }
  plan.finish();
}
