import { assertDeviceAlive } from "../device/device_lost.ts";
import { BufferRegion } from "./buffer_region.ts";
import { readBytes, writeBytes } from "../device/_transfer.ts";
import { FLOAT32, type NumberFormat } from "../_common/number_format.ts";
import { checkValues } from "../_common/validate.ts";

let deviceOfSlot: (slot: Slot) => GPUDevice;

/**
 * An optimizer slot of one variable (Adagrad has one, `"accumulator"`): where it lives on the GPU,
 * and its values on demand. Returned by {@linkcode Adagrad.getSlot}; not constructed directly.
 *
 * @example
 * ```ts ignore
 * const acc = opt.getSlot(weights, "accumulator");
 * console.log(acc.name, await acc.read());
 * ```
 */
export class Slot {
  /** Slot name, e.g. `"accumulator"`. */
  readonly slotName: string;
  /** Name of the variable the slot belongs to; `""` for an optimizer weight of its own. */
  readonly variableName: string;
  /** Shape: the variable's, or the one given to `addWeight`. */
  readonly shape: readonly number[];
  /** How the slot stores its numbers on the GPU; reads and writes are float32 whatever it is. */
  readonly format: NumberFormat;
  readonly #device: GPUDevice;
  readonly #locate: () => BufferRegion | readonly BufferRegion[];

  /**
   * Made by the optimizer for each variable it updates.
   *
   * @param slotName e.g. `"accumulator"`
   * @param variableName the variable's name (`""` for a weight of the optimizer's own)
   * @param shape the slot's shape
   * @param device the device holding the slot
   * @param locate where the slot lives now (an optimizer may move slots when it grows them):
   *   one region, or one per window of a variable past one binding, in order
   * @param format how the slot stores its numbers (float32, the only format yet)
   */
  constructor(
    slotName: string,
    variableName: string,
    shape: readonly number[],
    device: GPUDevice,
    locate: () => BufferRegion | readonly BufferRegion[],
    format: NumberFormat = FLOAT32,
  ) {
    this.format = format;
    this.slotName = slotName;
    this.variableName = variableName;
    this.shape = Object.freeze([...shape]);
    this.#device = device;
    this.#locate = locate;
  }

  static {
    deviceOfSlot = (slot) => slot.#device;
  }

  /** Keras-style name, `"<variable>/<slot>"`, e.g. `"dense/kernel/accumulator"`. */
  get name(): string {
    return this.variableName ? `${this.variableName}/${this.slotName}` : this.slotName;
  }

  /**
   * Where the slot lives: a {@linkcode BufferRegion}, which a shader binds as it is (`size` in
   * bytes, `length` in elements).
   */
  get region(): BufferRegion {
    const regions = this.regions;
    if (regions.length === 1) return regions[0];
    throw new TypeError(
      `slot '${this.name}' spans ${regions.length} buffers (its variable is larger than one ` +
        `binding): use slot.regions, one per window of the variable`,
    );
  }

  /** Where the slot lives, one region per window of its variable (one for most variables). */
  get regions(): readonly BufferRegion[] {
    const where = this.#locate();
    return where instanceof BufferRegion ? [where] : where;
  }

  /** Number of float32 elements (formerly `size`). */
  get length(): number {
    return this.regions.reduce((n, r) => n + r.length, 0);
  }

  /** Copies the slot's values to the CPU (every region, in order). */
  read(): Promise<Float32Array> {
    // Checks throw here, synchronously, as a variable's read does.
    assertDeviceAlive(this.#device, `slot '${this.name}'`);
    const regions = this.regions;
    if (regions.length === 1) return this.#readRegion(regions[0]);
    return this.#readAll(regions);
  }

  /** One region's values, decoded from the slot's format. */
  async #readRegion({ buffer, offset, byteLength }: BufferRegion): Promise<Float32Array> {
    return this.format.decode(await readBytes(this.#device, buffer, offset, byteLength));
  }

  async #readAll(regions: readonly BufferRegion[]): Promise<Float32Array> {
    const out = new Float32Array(this.length);
    let at = 0;
    for (const region of regions) {
      out.set(await this.#readRegion(region), at);
      at += this.format.elements(region.byteLength);
    }
    return out;
  }

  /** Overwrites the slot: a `Float32Array` of `length` elements, or one number for all. */
  write(data: Float32Array | number): void {
    assertDeviceAlive(this.#device, `slot '${this.name}'`);
    const regions = this.regions;
    checkValues(data, this.length, `slot '${this.name}'`);
    let at = 0;
    for (const { buffer, offset, byteLength } of regions) {
      const n = this.format.elements(byteLength);
      const values = typeof data === "number"
        ? new Float32Array(n).fill(data)
        : data.subarray(at, at + n);
      writeBytes(this.#device, buffer, offset, this.format.encode(values));
      at += n;
    }
  }
}

/** The device a slot lives on (for checkpoints; not public API). */
export function slotDevice(slot: Slot): GPUDevice {
  return deviceOfSlot(slot);
}

/**
 * The first entry of {@linkcode Adagrad.weights}: Keras's `iter` weight (Keras 3's `iteration`),
 * the iteration count, which lives on the CPU here (`opt.iterations`).
 *
 * @example
 * ```ts ignore
 * console.log(opt.weights[0].name); // "iter"
 * ```
 */
export interface IterationsWeight {
  /** `"iter"`, or Keras 3's `"iteration"`. */
  readonly name: "iter" | "iteration";
  /** `[]`: a scalar. */
  readonly shape: readonly number[];
}

/** Keras's `iter` weight, as {@linkcode Adagrad.weights} lists it. */
export const ITERATIONS_WEIGHT: IterationsWeight = Object.freeze({ name: "iter", shape: [] });
const KERAS3_ITERATIONS: IterationsWeight = Object.freeze({ name: "iteration", shape: [] });

/** The iteration weight of that name. */
export function iterationsWeight(name: "iter" | "iteration"): IterationsWeight {
  return name === "iter" ? ITERATIONS_WEIGHT : KERAS3_ITERATIONS;
}
