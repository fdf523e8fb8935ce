// Every GPU read and write of a checkpoint tensor's bytes goes through this file, for the three
// kinds of tensors a checkpoint holds on the GPU: a store Variable, an optimizer Slot (an
// accumulator or an addWeight weight) and a dynamic loss scale's weights. Where a tensor's
// elements live is answered in one place, `rangesOf`: one range of one buffer, or, for a variable
// past one binding (and its slots), one range per window it spans.
import { readLossScaleState } from "../optimizers/loss_scale_optimizer.ts";
import type { LossScaleOptimizer } from "../optimizers/loss_scale_optimizer.ts";
import { assertDeviceAlive } from "../device/device_lost.ts";
import { type Slot, slotDevice } from "../memory/slot.ts";
import { arenaOf, piecesOf, Variable } from "../memory/variable.ts";

/** A float32 tensor that lives on the GPU: a store variable, or an optimizer's slot or weight. */
export type TensorTarget = Variable | Slot;

/** A byte range of one GPU buffer. */
interface BufferRange {
  buffer: GPUBuffer;
  offset: number;
  byteLength: number;
}

function what(target: TensorTarget): string {
  return target instanceof Variable ? `variable '${target.name}'` : `slot '${target.name}'`;
}

/**
 * The device `target` lives on, once it is known to be usable: its store and its optimizer not
 * destroyed, its device not lost (a DeviceLostError, or the TypeError its owner throws).
 */
export function targetDevice(target: TensorTarget): GPUDevice {
  if (target instanceof Variable) {
    const arena = arenaOf(target);
    arena.assertAlive(what(target));
    return arena.device;
  }
  const device = slotDevice(target);
  assertDeviceAlive(device, what(target));
  void target.regions; // throws once the slot's optimizer is destroyed
  return device;
}

/** Where elements `[first, first + count)` of `target` live, in order. */
function rangesOf(target: TensorTarget, first: number, count: number): BufferRange[] {
  const length = target.length;
  if (
    !Number.isSafeInteger(first) || !Number.isSafeInteger(count) || first < 0 || count < 0 ||
    first + count > length
  ) {
    throw new RangeError(
      `${what(target)} has ${length} elements; elements [${first}, ${first + count}) are outside`,
    );
  }
  // The tensor's segments in element order: its windows, each one range of one buffer.
  const segments = target instanceof Variable
    ? piecesOf(target).map(({ arena, index, length }) => ({
      buffer: arena.buffer,
      offset: arena.members[index].offset,
      length,
    }))
    : target.regions.map(({ buffer, offset, length }) => ({ buffer, offset, length }));
  const ranges: BufferRange[] = [];
  let start = 0; // the segment's first element
  for (const s of segments) {
    const from = Math.max(first, start);
    const to = Math.min(first + count, start + s.length);
    if (from < to) {
      ranges.push({
        buffer: s.buffer,
        offset: s.offset + 4 * (from - start),
        byteLength: 4 * (to - from),
      });
    }
    start += s.length;
  }
  return ranges;
}

/**
 * Records on `encoder` the copy of `count` elements of `target` from `firstElement` into
 * `staging` (a MAP_READ | COPY_DST buffer) at byte `stagingOffset`. The caller submits and maps.
 */
export function recordTensorRead(
  encoder: GPUCommandEncoder,
  target: TensorTarget,
  firstElement: number,
  count: number,
  staging: GPUBuffer,
  stagingOffset: number,
): void {
  let at = stagingOffset;
  for (const range of rangesOf(target, firstElement, count)) {
    encoder.copyBufferToBuffer(range.buffer, range.offset, staging, at, range.byteLength);
    at += range.byteLength;
  }
}

/**
 * Queues the write of `data` (float32 bytes, little-endian) into `target` from `firstElement`.
 * `queue.writeBuffer` copies the bytes at once, so the caller may reuse `data` on return.
 */
export function writeTensorChunk(
  target: TensorTarget,
  firstElement: number,
  data: Uint8Array,
): void {
  const device = targetDevice(target);
  if (data.byteLength % 4 !== 0) {
    throw new RangeError(`${what(target)}: ${data.byteLength} bytes are not whole float32s`);
  }
  const count = data.byteLength / 4;
  if (target instanceof Variable) {
    const arena = arenaOf(target);
    if (!arena.materialized && firstElement === 0 && count === target.length) {
      // A store not allocated yet keeps a whole variable as its initial value, as write() does,
      // so that restoring does not seal an arena its model is still declaring variables into.
      target.write(new Float32Array(data.slice().buffer));
      return;
    }
  }
  let at = 0;
  for (const range of rangesOf(target, firstElement, count)) {
    // Some runtimes' declarations say BufferSource where WebGPU takes any Uint8Array.
    const bytes = data as Uint8Array<ArrayBuffer>;
    device.queue.writeBuffer(range.buffer, range.offset, bytes, at, range.byteLength);
    at += range.byteLength;
  }
}

/** A dynamic loss scale's two weights, read back in one copy so that no step falls between. */
export function readLossScale(
  optimizer: LossScaleOptimizer<object>,
): Promise<{ scale: number; goodSteps: number }> {
  return readLossScaleState(optimizer);
}

/** Sets a dynamic loss scale's two weights (queued ahead of any later step). */
export function writeLossScale(
  optimizer: LossScaleOptimizer<object>,
  scale: number,
  goodSteps: number,
): void {
  optimizer.setLossScale(scale, goodSteps);
}
