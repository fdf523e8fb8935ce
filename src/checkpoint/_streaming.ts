// Carrying out a save or a restore plan, window by window (_windows.ts), through _tensor_io.ts.
// A save reads each window back from the GPU into one reused staging buffer per device (one
// submit and one mapAsync per window) and hands it to a sink: a file, or the bytes of
// saveCheckpoint. A restore reads each window from a source and queues its writes, then waits
// for the GPU, so that the runtime's own staging holds one window rather than the whole model.
import { alignUp } from "../_common/layout.ts";
import { COPY_DST, MAP_MODE_READ, MAP_READ } from "../_common/usage.ts";
import { assertDeviceAliveSoon } from "../device/device_lost.ts";
import type { RestorePlan } from "./_restore_plan.ts";
import type { SavePlan } from "./_save_plan.ts";
import {
  recordTensorRead,
  targetDevice,
  type TensorTarget,
  writeTensorChunk,
} from "./_tensor_io.ts";
import { checkpointChunkBytes, type Piece, windows } from "./_windows.ts";

/** Where a save's windows go. */
export interface SaveSink {
  /** The bytes to fill with data bytes `[start, start + length)`. */
  window(start: number, length: number): Uint8Array;
  /** Called with each window once it is filled, in order; the next waits for it. */
  flush(bytes: Uint8Array, start: number): Promise<void> | void;
}

/** Reads every tensor of `plan` (from the GPU, or from the plan itself) into `sink`. */
export async function streamSave(plan: SavePlan, sink: SaveSink, caller: string): Promise<void> {
  const chunk = checkpointChunkBytes();
  const stagingSize = alignUp(Math.max(4, Math.min(chunk, plan.dataLength)), 4);
  const stagings = new Map<GPUDevice, GPUBuffer>();
  try {
    for (const w of windows(plan.tensors, chunk)) {
      const out = sink.window(w.start, w.length);
      const reads = new Map<GPUDevice, { encoder: GPUCommandEncoder; pieces: Piece[] }>();
      for (const piece of w.pieces) {
        const { source } = plan.tensors[piece.tensor];
        const { firstByte, byteLength, at } = piece;
        if (source instanceof Uint8Array) {
          out.set(source.subarray(firstByte, firstByte + byteLength), at);
          continue;
        }
        const device = targetDevice(source);
        let staging = stagings.get(device);
        if (!staging) {
          staging = device.createBuffer({
            label: "webgpu-adagrad checkpoint staging",
            size: stagingSize,
            usage: MAP_READ | COPY_DST,
          });
          stagings.set(device, staging);
        }
        let read = reads.get(device);
        if (!read) reads.set(device, read = { encoder: device.createCommandEncoder(), pieces: [] });
        recordTensorRead(read.encoder, source, firstByte / 4, byteLength / 4, staging, at);
        read.pieces.push(piece);
      }
      await Promise.all([...reads].map(async ([device, { encoder, pieces }]) => {
        const staging = stagings.get(device)!;
        device.queue.submit([encoder.finish()]);
        try {
          await staging.mapAsync(MAP_MODE_READ, 0, w.length);
        } catch (e) {
          await assertDeviceAliveSoon(device, caller); // a lost device is the likely cause
          throw e;
        }
        try {
          const mapped = new Uint8Array(staging.getMappedRange(0, w.length));
          for (const { at, byteLength } of pieces) {
            out.set(mapped.subarray(at, at + byteLength), at);
          }
        } finally {
          staging.unmap();
        }
      }));
      await sink.flush(out, w.start);
    }
  } finally {
    for (const staging of stagings.values()) staging.destroy();
  }
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
  for (const w of windows(ranges, chunk)) {
    const bytes = buffer.subarray(0, w.length);
    await read(bytes, w.start);
    for (const { tensor, firstByte, byteLength, at } of w.pieces) {
      writeTensorChunk(targets[tensor], firstByte / 4, bytes.subarray(at, at + byteLength));
    }
    // Some runtimes keep queued writes in their own staging until the next submit.
    for (const device of devices) device.queue.submit([]);
    await Promise.all([...devices].map((device) => device.queue.onSubmittedWorkDone()));
  }
  plan.finish();
}
