import type { Arena } from "./_arena.ts";
import type { BufferRegion } from "./buffer_region.ts";
import { readFloats } from "../device/_transfer.ts";
import { checkValues } from "../_common/validate.ts";

let construct: (arena: Arena, index: number, name: string, shape: readonly number[]) => Variable;
let arenaOfVariable: (v: Variable) => Arena;
let indexOfVariable: (v: Variable) => number;

/**
 * A float32 variable living in a {@linkcode VariableStore} arena. It is a `GPUBufferBinding`
 * itself: bind it as it is (`resource: w`) in your own shaders, where `buffer`, `offset` and
 * `size` are in bytes, as WebGPU reads them; `length` counts the elements. Write its gradient into
 * `grad` (same layout, in the store's gradient arena; also a binding) and hand `[v.grad, v]` to
 * {@linkcode Adagrad.applyGradients}.
 *
 * Created by {@linkcode VariableStore.variable}; not constructed directly. The store allocates an
 * arena when one of its buffers is first used, so declare a model's variables before binding any.
 *
 * @example
 * ```ts
 * import { VariableStore } from "@webgpu-adagrad/core";
 *
 * const adapter = await navigator.gpu.requestAdapter();
 * const device = await adapter!.requestDevice();
 * const store = new VariableStore(device);
 * const w = store.variable("dense/kernel", [3, 2], new Float32Array([1, 2, 3, 4, 5, 6]));
 * console.log(w.length, w.size); // 6 24: elements, bytes
 * console.log(await w.read()); // Float32Array [1, 2, 3, 4, 5, 6]
 * const layout = device.createBindGroupLayout({
 *   entries: [
 *     { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: "read-only-storage" } },
 *     { binding: 1, visibility: GPUShaderStage.COMPUTE, buffer: { type: "storage" } },
 *   ],
 * });
 * // Your shader reads all 6 weights and writes all 6 gradients.
 * device.createBindGroup({
 *   layout,
 *   entries: [{ binding: 0, resource: w }, { binding: 1, resource: w.grad }],
 * });
 * device.destroy();
 * ```
 */
export class Variable implements GPUBufferBinding {
  /** Unique name within its store, e.g. `"dense/kernel"`. */
  readonly name: string;
  /** Shape, outermost dimension first; `[]` for a scalar. */
  readonly shape: readonly number[];
  /** Number of elements (the product of `shape`). */
  readonly length: number;
  /** Byte size, `4 * length`, as `GPUBufferBinding.size` means it. */
  readonly size: number;
  /** Element type; always `"float32"`. */
  readonly dtype: "float32" = "float32";
  readonly #arena: Arena;
  readonly #index: number;
  #grad: BufferRegion | null = null;

  private constructor(arena: Arena, index: number, name: string, shape: readonly number[]) {
    this.#arena = arena;
    this.#index = index;
    this.name = name;
    this.shape = Object.freeze([...shape]);
    this.length = shape.reduce((a, b) => a * b, 1);
    this.size = 4 * this.length; // bytes: WebGPU reads the variable as a GPUBufferBinding
  }

  static {
    construct = (arena, index, name, shape) => new Variable(arena, index, name, shape);
    arenaOfVariable = (v) => v.#arena;
    indexOfVariable = (v) => v.#index;
  }

  /** The arena's variables buffer (allocated on first use). */
  get buffer(): GPUBuffer {
    this.#arena.assertAlive(`variable '${this.name}'`);
    return this.#arena.buffer;
  }

  /** Byte offset in `buffer`, a multiple of the device's `minStorageBufferOffsetAlignment`. */
  get offset(): number {
    return this.#arena.members[this.#index].offset;
  }

  /** Byte length: the same as `size`. */
  get byteLength(): number {
    return this.size;
  }

  /**
   * The variable as a plain `{ buffer, offset, size }` object. The variable itself is already a
   * valid `GPUBufferBinding`; this is for code that wants a plain dictionary.
   */
  get binding(): GPUBufferBinding {
    return { buffer: this.buffer, offset: this.offset, size: this.byteLength };
  }

  /**
   * The variable's region in the store's gradient arena: same offset and length as the variable,
   * in another buffer. Shaders write gradients here; `applyGradients` reads them in place.
   */
  get grad(): BufferRegion {
    this.#arena.assertAlive(`variable '${this.name}'`);
    this.#grad ??= this.#arena.gradRegion(this.#index);
    return this.#grad;
  }

  /**
   * Zeroes this variable's gradient region on the GPU (see {@linkcode VariableStore.zeroGrads}):
   * recorded on `encoder`, or submitted at once without one.
   *
   * @example
   * ```ts ignore
   * w.zeroGrad(encoder); // before a backward pass that adds into w.grad
   * ```
   */
  zeroGrad(encoder?: GPUCommandEncoder): void {
    const { buffer, offset, byteLength } = this.grad;
    const device = this.#arena.device;
    const own = encoder ?? device.createCommandEncoder({ label: `${this.name} zero grad` });
    own.clearBuffer(buffer, offset, byteLength);
    if (!encoder) device.queue.submit([own.finish()]);
  }

  /** Copies the current values to the CPU. */
  read(): Promise<Float32Array> {
    this.#arena.assertAlive(`variable '${this.name}'`);
    return readFloats(this.#arena.device, this.buffer, this.offset, this.byteLength);
  }

  /**
   * Overwrites the values: a `Float32Array` of `length` elements, or one number for all. The write is
   * queued in order with submitted steps.
   */
  write(data: Float32Array | number): void {
    this.#arena.assertAlive(`variable '${this.name}'`);
    checkValues(data, this.length, `variable '${this.name}'`);
    this.#arena.write(this.#index, data);
  }
}

/** Creates a variable handle (the store's factory; not public API). */
export function createVariable(
  arena: Arena,
  index: number,
  name: string,
  shape: readonly number[],
): Variable {
  return construct(arena, index, name, shape);
}

/** The arena a variable lives in (for the optimizer; not public API). */
export function arenaOf(v: Variable): Arena {
  return arenaOfVariable(v);
}

/** A variable's member index in its arena (for the optimizer; not public API). */
export function memberIndexOf(v: Variable): number {
  return indexOfVariable(v);
}
