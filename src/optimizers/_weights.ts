// The checks and the storage behind Keras's weight methods (`set_weights`, `add_weight`), kept
// out of the optimizer class so that it reads as the Keras surface.
import { createFilledBuffer } from "../memory/_filled_buffer.ts";
import { checkShape, describe, finiteNumber } from "../_common/validate.ts";
import { BufferRegion } from "../memory/buffer_region.ts";
import { Slot } from "../memory/slot.ts";

/**
 * Checks a `setWeights` list against the optimizer's weights (after `iter`) and returns the
 * iteration count and the values. As Keras's Adagrad does for Keras 1 lists, a list one shorter
 * (no iteration count) means iterations 0.
 */
export function checkWeightList(
  optimizer: string,
  weights: unknown,
  slots: readonly Slot[],
): [number, Float32Array[]] {
  if (!Array.isArray(weights)) {
    throw new TypeError(`setWeights: expected an array, got ${describe(weights)}`);
  }
  const expected = slots.length + 1;
  const list = weights.length === expected - 1 ? [0, ...weights] : weights;
  if (list.length !== expected) {
    throw new RangeError(
      `You called \`set_weights(weights)\` on optimizer ${optimizer} with a weight list of ` +
        `length ${weights.length}, but the optimizer was expecting ${expected} weights.`,
    );
  }
  const [iterations, ...values] = list;
  if (typeof iterations !== "number" || !Number.isSafeInteger(iterations) || iterations < 0) {
    throw new RangeError(
      `setWeights: the first weight is the iteration count, a non-negative integer; got ` +
        `${describe(iterations)}`,
    );
  }
  values.forEach((value, i) => {
    const w = slots[i];
    if (!(value instanceof Float32Array) || value.length !== w.length) {
      const shape = value instanceof Float32Array ? `[${value.length}]` : describe(value);
      throw new TypeError(
        `Optimizer weight shape [${w.shape.join(", ")}] not compatible with provided weight ` +
          `shape ${shape} (weight '${w.name}')`,
      );
    }
  });
  return [iterations, values];
}

/** A weight of the optimizer's own (`addWeight`), in a buffer of its own; checked first. */
export function createWeight(
  device: GPUDevice | undefined,
  optimizer: string,
  name: unknown,
  shape: readonly number[],
  initialValue: number,
  assertAlive: () => void,
): { weight: Slot; buffer: GPUBuffer } {
  if (typeof name !== "string" || name.length === 0) {
    throw new TypeError("addWeight: name must be a non-empty string");
  }
  const size = checkShape(shape, `weight '${name}'`);
  finiteNumber(initialValue, "initialValue");
  if (!device) {
    throw new TypeError(
      "addWeight: the optimizer has no device yet; pass `device` to the constructor or update a variable first",
    );
  }
  const buffer = createFilledBuffer(device, size * 4, initialValue, `${optimizer} ${name}`);
  const region = new BufferRegion(buffer, 0, size * 4);
  const locate = () => {
    assertAlive(); // the buffer is gone once the optimizer is destroyed
    return region;
  };
  return { weight: new Slot(name, "", shape, device, locate), buffer };
}
