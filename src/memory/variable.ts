import type { Arena } from "./_arena.ts";
import { BufferRegion } from "./buffer_region.ts";
import { readFloats } from "../device/_transfer.ts";
import { checkValues } from "../_common/validate.ts";
import {
  checkNoRepeats,
  checkRowIds,
  checkRowValues,
  readRows,
  type RowWindow,
  writeRows,
} from "./_rows.ts";

/**
 * One piece of a variable: its arena, its member index there, and the elements it holds. A
 * variable that fits one arena is one piece; a larger one is cut by rows (VariableStore.variable).
 */
export interface VariablePiece {
  readonly arena: Arena;
  readonly index: number;
  /** First element of the variable in this piece. */
  readonly first: number;
  /** Elements in this piece. */
  readonly length: number;
  /** Rows (first-dimension entries) in this piece. */
  readonly rows: number;
}

/**
 * A window of a variable larger than one binding: elements `[first, first + length)` (whole rows,
 * `rows` of them), bindable as they are, with their gradient region.
 *
 * @example
 * ```ts ignore
 * // A shader that handles any variable binds each window in turn.
 * for (const w of table.windows) {
 *   runBackward({ values: w.values, grad: w.grad, firstRow: w.first / 64, rows: w.rows });
 * }
 * await opt.applyGradients([[table.windows, table]]); // the gradients, in place
 * ```
 */
export interface VariableWindow {
  /** First element of the variable in this window. */
  readonly first: number;
  /** Elements in this window. */
  readonly length: number;
  /** Rows (first-dimension entries) in this window. */
  readonly rows: number;
  /** The window's values: a GPUBufferBinding, bound as it is. */
  readonly values: BufferRegion;
  /** The window's gradient region, bound as it is. */
  readonly grad: BufferRegion;
}

let construct: (
  pieces: readonly VariablePiece[],
  name: string,
  shape: readonly number[],
) => Variable;
let piecesOfVariable: (v: Variable) => readonly VariablePiece[];

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
  readonly #pieces: readonly VariablePiece[];
  /** The first piece's arena, where an unsplit variable lives. */
  readonly #arena: Arena;
  readonly #index: number;
  #grad: BufferRegion | null = null;
  #windows: readonly VariableWindow[] | null = null;

  private constructor(pieces: readonly VariablePiece[], name: string, shape: readonly number[]) {
    this.#pieces = pieces;
    this.#arena = pieces[0].arena;
    this.#index = pieces[0].index;
    this.name = name;
    this.shape = Object.freeze([...shape]);
    this.length = shape.reduce((a, b) => a * b, 1);
    this.size = 4 * this.length; // bytes: WebGPU reads the variable as a GPUBufferBinding
  }

  static {
    construct = (pieces, name, shape) => new Variable(pieces, name, shape);
    piecesOfVariable = (v) => v.#pieces;
  }

  /** The arena's variables buffer (allocated on first use). */
  get buffer(): GPUBuffer {
    this.#assertWhole("buffer");
    return this.#arena.buffer;
  }

  /** Byte offset in `buffer`, a multiple of the device's `minStorageBufferOffsetAlignment`. */
  get offset(): number {
    this.#assertWhole("offset");
    return this.#arena.members[this.#index].offset;
  }

  /**
   * The variable's windows: one for a variable that fits one binding (the variable itself), and
   * for a larger one (a table past `maxStorageBufferBindingSize`) one per buffer it spans, each
   * whole rows. A shader that handles both binds each window's `values` and `grad` in turn.
   */
  get windows(): readonly VariableWindow[] {
    this.#arena.assertAlive(`variable '${this.name}'`);
    this.#windows ??= this.#pieces.map(({ arena, index, first, length, rows }) => {
      const { offset, byteLength } = arena.members[index];
      const values = new BufferRegion(arena.buffer, offset, byteLength);
      return { first, length, rows, values, grad: arena.gradRegion(index) };
    });
    return this.#windows;
  }

  /** Whether the variable spans several buffers (it is larger than one arena). */
  get split(): boolean {
    return this.#pieces.length > 1;
  }

  /** Refuses what only a variable in one buffer has, naming what to use instead. */
  #assertWhole(what: string): void {
    this.#arena.assertAlive(`variable '${this.name}'`);
    if (this.#pieces.length === 1) return;
    throw new TypeError(
      `variable '${this.name}' spans ${this.#pieces.length} buffers (it is larger than one ` +
        `binding), so it has no single ${what}: bind its windows (variable.windows[i].values and ` +
        `.grad), and pass variable.windows as its gradient to applyGradients`,
    );
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
    this.#assertWhole("grad");
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
    const device = this.#arena.device;
    const own = encoder ?? device.createCommandEncoder({ label: `${this.name} zero grad` });
    for (const { grad } of this.windows) own.clearBuffer(grad.buffer, grad.offset, grad.byteLength);
    if (!encoder) device.queue.submit([own.finish()]);
  }

  /** Copies the current values to the CPU (every window, in order, for a split variable). */
  read(): Promise<Float32Array> {
    this.#arena.assertAlive(`variable '${this.name}'`);
    if (this.#pieces.length === 1) {
      return readFloats(this.#arena.device, this.buffer, this.offset, this.byteLength);
    }
    return this.#readWindows();
  }

  async #readWindows(): Promise<Float32Array> {
    const out = new Float32Array(this.length);
    const device = this.#arena.device;
    for (const { first, values } of this.windows) {
      out.set(await readFloats(device, values.buffer, values.offset, values.byteLength), first);
    }
    return out;
  }

  /**
   * Overwrites the values: a `Float32Array` of `length` elements, or one number for all. The write is
   * queued in order with submitted steps.
   */
  write(data: Float32Array | number): void {
    this.#arena.assertAlive(`variable '${this.name}'`);
    checkValues(data, this.length, `variable '${this.name}'`);
    for (const { arena, index, first, length } of this.#pieces) {
      arena.write(index, typeof data === "number" ? data : data.subarray(first, first + length));
    }
  }

  /**
   * Copies rows `ids` of a 2-D variable (`[rows, width]`) to the CPU, in the ids' order (repeats
   * included): `ids.length * width` values, row `ids[i]` at `i * width`. Only those rows move:
   * one GPU copy per run of consecutive ids (rows of every window of a split table alike) into a
   * staging buffer (one more per 64 MiB), one `mapAsync`; so reading 1,000 rows of a 3M x 32 table
   * costs what 1,000 rows cost, not the 384 MB `read()` moves. Queued in order with submitted steps: it sees every step
   * submitted before it. Always float32 on the CPU, whatever the variable's element type (a 16-bit
   * one, in a later release, is widened exactly).
   *
   * @example
   * ```ts
   * import { VariableStore } from "@webgpu-adagrad/core";
   *
   * const adapter = await navigator.gpu.requestAdapter();
   * const device = await adapter!.requestDevice();
   * const store = new VariableStore(device);
   * const table = store.variable("embedding", [1000, 3], new Float32Array(3000).map((_, i) => i));
   * const rows: Float32Array = await table.readRows([7, 2, 7]);
   * console.log(rows); // Float32Array [21, 22, 23, 6, 7, 8, 21, 22, 23]
   * device.destroy();
   * ```
   *
   * @param ids row numbers in `[0, rows)`: an `Int32Array`, a `Uint32Array` or an array of
   *   integers; may repeat, in any order, or be empty
   * @returns the rows, `ids.length * width` float32 values
   * @throws {TypeError} for a variable that is not 2-D, ids of another type, or an id that is not
   *   an integer; before anything is encoded
   * @throws {RangeError} for an id outside `[0, rows)`, naming it and its offset
   */
  readRows(ids: Int32Array | Uint32Array | readonly number[]): Promise<Float32Array> {
    const { windows, width, what } = this.#rows("readRows");
    const checked = checkRowIds(ids, this.shape[0], what);
    return readRows(this.#arena.device, windows(), width, checked);
  }

  /**
   * Overwrites rows `ids` of a 2-D variable (`[rows, width]`) with `values`, row `ids[i]` taking
   * `values.subarray(i * width, (i + 1) * width)`; the other rows keep their bits. Only those rows
   * move: the values go into one staging buffer, then one GPU copy per run of consecutive ids,
   * in one submit, queued in order with submitted steps. An id given twice is refused (a
   * `RangeError`): which of its rows should win is the caller's to decide. Takes float32 whatever
   * the variable's element type (a 16-bit one, in a later release, is rounded to nearest even).
   *
   * @example
   * ```ts
   * import { VariableStore } from "@webgpu-adagrad/core";
   *
   * const adapter = await navigator.gpu.requestAdapter();
   * const device = await adapter!.requestDevice();
   * const store = new VariableStore(device);
   * const table = store.variable("embedding", [1000, 2], 0.5);
   * table.writeRows(new Int32Array([9, 4]), new Float32Array([1, 2, 3, 4])); // rows 9, then 4
   * console.log(await table.readRows([4, 9])); // Float32Array [3, 4, 1, 2]
   * device.destroy();
   * ```
   *
   * @param ids distinct row numbers in `[0, rows)`: an `Int32Array`, a `Uint32Array` or an array
   *   of integers, in any order, or empty
   * @param values `ids.length * width` values, the rows in the ids' order
   * @throws {TypeError} for a variable that is not 2-D, ids or values of another type, an id that
   *   is not an integer, or `values` of another length; before anything is written
   * @throws {RangeError} for an id outside `[0, rows)` or given twice, naming it and its offsets
   */
  writeRows(ids: Int32Array | Uint32Array | readonly number[], values: Float32Array): void {
    const { windows, width, what } = this.#rows("writeRows");
    const checked = checkRowIds(ids, this.shape[0], what);
    checkRowValues(values, checked.length, width, what);
    checkNoRepeats(checked, what);
    writeRows(this.#arena.device, windows(), width, checked, values);
  }

  /** What readRows and writeRows share: the checks of the variable, its windows in rows. */
  #rows(caller: string) {
    const what = `${caller} of variable '${this.name}'`;
    this.#arena.assertAlive(`variable '${this.name}'`);
    if (this.shape.length !== 2) {
      throw new TypeError(
        `${what}: the variable has shape [${this.shape.join(", ")}], not [rows, width]; ` +
          `${caller} takes 2-D variables (read() and write() take any)`,
      );
    }
    const width = this.shape[1];
    // Made only once every argument is checked: an arena's buffer is allocated on first use.
    const windows = (): RowWindow[] =>
      this.#pieces.map(({ arena, index, first, rows }) => ({
        buffer: arena.buffer,
        offset: arena.members[index].offset,
        firstRow: first / width,
        rows,
      }));
    return { windows, width, what };
  }
}

/** Creates a variable handle (the store's factory; not public API). */
export function createVariable(
  pieces: readonly VariablePiece[],
  name: string,
  shape: readonly number[],
): Variable {
  return construct(pieces, name, shape);
}

/** The pieces a variable lives in, one per arena (for the optimizer; not public API). */
export function piecesOf(v: Variable): readonly VariablePiece[] {
  return piecesOfVariable(v);
}

/** The arena of a variable's first piece (for checks that any piece answers). */
export function arenaOf(v: Variable): Arena {
  return piecesOfVariable(v)[0].arena;
}
