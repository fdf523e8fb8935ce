import { watchDevice } from "../device/device_lost.ts";
import { Arena } from "./_arena.ts";
import { alignDown, ArenaPacker, type Piece, splitPieces } from "../_common/layout.ts";
import { checkShape, checkValues, describe } from "../_common/validate.ts";
import type { RegionDtype } from "./buffer_region.ts";
import { createVariable, type Variable } from "./variable.ts";
import { REDUCE_TILE_ELEMENTS } from "../_kernels/kernels.ts";

/**
 * Options of {@linkcode VariableStore}.
 *
 * @example
 * ```ts ignore
 * const store = new VariableStore(device, { label: "mlp", maxArenaBytes: 64 << 20 });
 * ```
 */
export interface VariableStoreOptions {
  /**
   * Largest arena in bytes. Default and ceiling: the device's `maxStorageBufferBindingSize` and
   * `maxBufferSize`, whichever is smaller (request larger limits on the device to raise it).
   * Each arena costs the optimizer one dispatch per step, so larger arenas mean fewer dispatches.
   */
  maxArenaBytes?: number;
  /**
   * Extra `GPUBufferUsage` flags for the variable buffers, for shaders that also use variables
   * as, say, vertex or uniform data. `STORAGE | COPY_SRC | COPY_DST` are always set.
   */
  usage?: number;
  /** Label prefix of the GPU buffers. Default `"webgpu-adagrad"`. */
  label?: string;
  /**
   * The gradients' element type: `"float32"` (default), or `"float16"` as under Keras's
   * `mixed_float16` policy, which halves the gradient arena and its traffic. Variables and
   * accumulators stay float32. A float16 gradient region (`variable.grad`) holds IEEE half floats
   * packed two per 32-bit word (`unpack2x16float`/`pack2x16float` in WGSL, or `array<f16>` with
   * the `shader-f16` feature), padded to 4 bytes; offsets are aligned twice as coarsely, so that
   * each region is bindable.
   */
  gradDtype?: RegionDtype;
}

const STORE_OPTIONS = new Set(["maxArenaBytes", "usage", "label", "gradDtype"]);

/**
 * Owns a model's variables, packed into a few large GPU buffers (arenas) so that one dispatch can
 * update many variables: WGSL cannot index an array of buffers. Each variable sits at an offset
 * aligned to the device's `minStorageBufferOffsetAlignment`, so your shaders can bind any one of
 * them on its own. A second buffer, with the same layout, holds the gradients (`variable.grad`);
 * it is allocated only when first used, so a table that only gets sparse gradients never pays for it.
 *
 * Arenas are allocated when a variable's buffer is first used (`buffer`, `grad`, `read`,
 * `applyGradients`), at the exact size of the variables declared so far; variables declared later
 * go to a new arena. Declare all of a model's variables first, then bind them.
 *
 * @example
 * ```ts
 * import { Adagrad, VariableStore } from "@webgpu-adagrad/core";
 *
 * const adapter = await navigator.gpu.requestAdapter();
 * const device = await adapter!.requestDevice();
 * const store = new VariableStore(device);
 * const w = store.variable("w", [2], new Float32Array([1, 2]));
 * const opt = new Adagrad({ learningRate: 3.0 });
 * await opt.applyGradients([[new Float32Array([0.1, 0.1]), w]]);
 * console.log(await w.read()); // ≈ [0.0954662, 1.0954662], Keras's testBasic after one step
 * device.destroy();
 * ```
 */
export class VariableStore {
  /** The device every arena lives on. */
  readonly device: GPUDevice;
  /** Label prefix of the GPU buffers. */
  readonly label: string;
  /** Largest arena in bytes. */
  readonly maxArenaBytes: number;
  /** Byte alignment of every variable's offset. */
  readonly alignment: number;
  /** The gradients' element type. */
  readonly gradDtype: RegionDtype;
  readonly #usage: number;
  readonly #packer: ArenaPacker;
  readonly #arenas: Arena[] = [];
  readonly #variables: Variable[] = [];
  readonly #byName = new Map<string, Variable>();
  #destroyed = false;

  /**
   * Creates an empty store; arenas are allocated as variables are used.
   *
   * @param device the device the variables live on
   * @param options arena size, extra buffer usage, label
   */
  constructor(device: GPUDevice, options: VariableStoreOptions = {}) {
    watchDevice(device);
    if (typeof device !== "object" || device === null || !("createBuffer" in device)) {
      throw new TypeError(`VariableStore: device must be a GPUDevice, got ${describe(device)}`);
    }
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`VariableStore: options must be an object, got ${describe(options)}`);
    }
    for (const key of Object.keys(options)) {
      if (!STORE_OPTIONS.has(key)) {
        throw new TypeError(
          `VariableStore: unknown option '${key}'; known: ${[...STORE_OPTIONS].join(", ")}`,
        );
      }
    }
    const { maxArenaBytes, usage = 0, label = "webgpu-adagrad", gradDtype = "float32" } = options;
    if (gradDtype !== "float32" && gradDtype !== "float16") {
      throw new TypeError(
        `VariableStore: gradDtype must be "float32" or "float16", got ${describe(gradDtype)}`,
      );
    }
    this.gradDtype = gradDtype;
    // A float16 gradient sits at half its variable's byte offset: align twice as coarsely.
    const alignment = Math.max(16, device.limits.minStorageBufferOffsetAlignment);
    this.alignment = gradDtype === "float16" ? 2 * alignment : alignment;
    const ceiling = alignDown(
      Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize),
      4,
    );
    if (maxArenaBytes !== undefined) {
      if (
        typeof maxArenaBytes !== "number" || !Number.isInteger(maxArenaBytes) ||
        maxArenaBytes < 4 || maxArenaBytes % 4 !== 0
      ) {
        throw new RangeError(
          `VariableStore: maxArenaBytes must be a positive multiple of 4, got ${maxArenaBytes}`,
        );
      }
      if (maxArenaBytes > ceiling) {
        throw new RangeError(
          `VariableStore: maxArenaBytes ${maxArenaBytes} exceeds the device's limit of ${ceiling} ` +
            `bytes (maxStorageBufferBindingSize / maxBufferSize)`,
        );
      }
    }
    if (typeof usage !== "number" || !Number.isInteger(usage) || usage < 0) {
      throw new TypeError(`VariableStore: usage must be GPUBufferUsage flags, got ${usage}`);
    }
    if (typeof label !== "string") {
      throw new TypeError(`VariableStore: label must be a string, got ${describe(label)}`);
    }
    this.device = device;
    this.label = label;
    this.maxArenaBytes = maxArenaBytes ?? ceiling;
    this.#usage = usage;
    this.#packer = new ArenaPacker(this.alignment, this.maxArenaBytes);
  }

  /**
   * Declares a float32 variable.
   *
   * @param name unique within the store, e.g. `"dense/kernel"`
   * @param shape dimensions, e.g. `[784, 128]`; `[]` for a scalar
   * @param init a `Float32Array` of the variable's size, or one number for every element
   *   (default 0)
   * @returns the variable's handle
   * @throws {TypeError} for a bad name, shape or init length
   * @throws {RangeError} for a duplicate name, an empty shape, or a row (first dimension) larger
   *   than one arena; a larger variable is split into windows of whole rows (`variable.windows`)
   */
  variable(name: string, shape: readonly number[], init?: Float32Array | number): Variable {
    this.#assertAlive();
    if (typeof name !== "string" || name.length === 0) {
      throw new TypeError(`VariableStore.variable: name must be a non-empty string`);
    }
    const what = `variable '${name}'`;
    if (this.#byName.has(name)) {
      throw new RangeError(`${what} already exists in this store`);
    }
    const size = checkShape(shape, what);
    if (init !== undefined) checkValues(init, size, what);
    // Larger than one arena (one binding): whole rows per arena, each piece an arena of its own.
    let split: Piece[];
    try {
      split = splitPieces(shape, this.maxArenaBytes, REDUCE_TILE_ELEMENTS);
    } catch (e) {
      throw new RangeError(`${what}: ${(e as Error).message}`);
    }
    const pieces = split.map(({ first, length, rows }) => {
      const byteLength = 4 * length;
      const placement = split.length > 1
        ? this.#packer.placeAlone(byteLength)
        : this.#packer.place(byteLength);
      const arena = this.#arenaAt(placement.arena);
      const pieceShape = split.length > 1 ? [rows, ...shape.slice(1)] : [...shape];
      const part = init instanceof Float32Array ? init.slice(first, first + length) : init;
      const member = { name, offset: placement.offset, byteLength, shape: pieceShape };
      return { arena, index: arena.add(member, part), first, length, rows };
    });
    const v = createVariable(pieces, name, [...shape]);
    this.#variables.push(v);
    this.#byName.set(name, v);
    return v;
  }

  /** The arena of index `i`, made when the packer opens it. */
  #arenaAt(i: number): Arena {
    if (i === this.#arenas.length) {
      this.#arenas.push(
        new Arena(this.device, i, this.label, this.#usage, this.gradDtype, () => {
          if (this.#packer.openArena === i) this.#packer.seal();
        }),
      );
    }
    return this.#arenas[i];
  }

  /** Every variable, in declaration order. */
  get variables(): readonly Variable[] {
    return this.#variables;
  }

  /** Number of arenas so far (each arena is one dispatch per optimizer step). */
  get arenaCount(): number {
    return this.#arenas.length;
  }

  /** The variable named `name`, if any. */
  get(name: string): Variable | undefined {
    return this.#byName.get(name);
  }

  /**
   * Zeroes every variable's gradient region on the GPU (PyTorch's `zero_grad()`), for backward
   * shaders that add into `grad` rather than overwrite it: a region keeps its contents after a
   * step. With `encoder`, the clears are recorded there, in order with your own passes; without
   * one, they are submitted at once, queued in order with the steps. Gradient buffers not
   * allocated yet are zero already and stay unallocated.
   *
   * @example
   * ```ts
   * import { VariableStore } from "@webgpu-adagrad/core";
   *
   * const adapter = await navigator.gpu.requestAdapter();
   * const device = await adapter!.requestDevice();
   * const store = new VariableStore(device);
   * const w = store.variable("w", [4], 1);
   * device.queue.writeBuffer(w.grad.buffer, w.grad.offset, new Float32Array([1, 2, 3, 4]));
   * store.zeroGrads(); // w.grad holds zeros again
   * device.destroy();
   * ```
   */
  zeroGrads(encoder?: GPUCommandEncoder): void {
    this.#assertAlive();
    const own = encoder ?? this.device.createCommandEncoder({ label: `${this.label} zero grads` });
    for (const arena of this.#arenas) arena.clearGradients(own);
    if (!encoder) this.device.queue.submit([own.finish()]);
  }

  /** Allocates every arena now; variables declared afterwards start a new arena. */
  allocate(): void {
    this.#assertAlive();
    for (const arena of this.#arenas) arena.materialize();
  }

  /** Frees the GPU buffers; the store and its variables are unusable afterwards. */
  destroy(): void {
    this.#destroyed = true;
    for (const arena of this.#arenas) arena.destroy();
  }

  #assertAlive(): void {
    if (this.#destroyed) throw new TypeError(`VariableStore '${this.label}' was destroyed`);
  }
}
