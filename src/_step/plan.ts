// Turning `applyGradients` pairs into a validated plan. Nothing here touches the GPU: every
// error is thrown before a buffer is written, a slot created or a command encoded.

import { arenaBuffers } from "../memory/_arena.ts";
import { bindingWindow, type ExternalRef } from "./external_ref.ts";
import { checkByteRange, describe, gpuRange, isGpuBuffer } from "../_common/validate.ts";
import { halfWords, isHalfData } from "../_common/float16.ts";
import { alignUp } from "../_common/layout.ts";
import { BufferRegion } from "../memory/buffer_region.ts";
import { COPY_SRC, STORAGE } from "../_common/usage.ts";
import { IndexedSlices, slicesRange } from "../sparse/indexed_slices.ts";
import { MAX_KEYS, pairBytes } from "../sparse/_staging.ts";
import {
  arenaOf,
  piecesOf,
  Variable,
  type VariablePiece,
  type VariableWindow,
} from "../memory/variable.ts";

/** Where a step's gradient comes from. */
export type GradSource =
  | { kind: "in-place" }
  | { kind: "upload"; data: Float32Array | Uint16Array }
  | { kind: "copy"; buffer: GPUBuffer; offset: number }
  | SparseSource;

/** An IndexedSlices gradient, checked against its variable. */
export interface SparseSource {
  kind: "sparse";
  slices: IndexedSlices;
  /** The variable's rows (its first dimension) and elements per row. */
  rows: number;
  width: number;
}

/** A store variable with a gradient this step. */
export interface StoreEntry {
  kind: "store";
  variable: Variable;
  /** Where the variable lives: one piece per arena (several for a variable past one binding). */
  pieces: readonly VariablePiece[];
  grad: GradSource;
}

/** A variable in a caller-owned buffer with a gradient this step. */
export interface ExternalEntry {
  kind: "external";
  ref: ExternalRef;
  grad: GradSource;
}

/** A validated step. */
export interface StepPlan {
  entries: (StoreEntry | ExternalEntry)[];
  /** Names of the variables whose gradient was missing. */
  missing: string[];
  /** The device of the store variables, if any. */
  device: GPUDevice | undefined;
}

/** The variables an optimizer already knows in one caller buffer. */
export interface KnownExternals {
  readonly refs: readonly ExternalRef[];
  /** Index of the variable at exactly these bytes, or -1. */
  indexOf(offset: number, byteLength: number): number;
}

/** What the planner needs to know of the optimizer. */
export interface PlanContext {
  device: GPUDevice | undefined;
  externalGroups: ReadonlyMap<GPUBuffer, KnownExternals>;
  /** Throws if the optimizer cannot update a variable in a caller's buffer (row-wise). */
  checkExternal(name: string): void;
  /** Throws if the optimizer cannot read a dense float16 gradient (row-wise). */
  checkHalfDense(name: string): void;
  /** The store variable of that name the optimizer already updates, if any. */
  variableNamed(name: string): Variable | undefined;
}

/** Resolves a variable in a caller-owned buffer to bytes, with every check. */
export function externalRef(v: unknown, what: string): ExternalRef {
  const binding = isGpuBuffer(v) ? { buffer: v } : v as Record<string, unknown>;
  const buffer = binding.buffer;
  if (!isGpuBuffer(buffer)) {
    throw new TypeError(
      `${what}: the variable must be a Variable, a GPUBuffer or { buffer, offset?, size? }, ` +
        `got ${describe(v)}`,
    );
  }
  if (arenaBuffers.has(buffer)) {
    throw new TypeError(
      `${what}: this buffer belongs to a VariableStore; pass the Variable itself`,
    );
  }
  const offset = binding.offset ?? 0;
  const size = binding.size ?? buffer.size - (offset as number);
  const name = binding.name ?? `${buffer.label || "buffer"}@${offset}`;
  if (typeof name !== "string") {
    throw new TypeError(`${what}: name must be a string, got ${describe(name)}`);
  }
  checkByteRange(offset, size, buffer.size, `${what} (variable '${name}')`);
  if ((buffer.usage & STORAGE) === 0) {
    throw new TypeError(`variable '${name}': its buffer needs GPUBufferUsage.STORAGE`);
  }
  return { buffer, offset: offset as number, byteLength: size as number, name };
}

/**
 * Checks an IndexedSlices against its variable: `shape` for a store variable (its rank and row
 * shape must match `denseShape`; the first dimension is not compared, as Keras ignores it), or
 * `null` for a variable in a caller's buffer, whose rows are then `denseShape`'s.
 */
function sparseSource(
  g: IndexedSlices,
  shape: readonly number[] | null,
  elements: number,
  what: string,
): SparseSource {
  const dense = `[${g.denseShape.join(", ")}]`;
  if (shape) {
    if (shape.length === 0) {
      throw new TypeError(`${what}: an IndexedSlices needs a variable of at least 1 dimension`);
    }
    const same = g.denseShape.length === shape.length &&
      shape.every((d, i) => i === 0 || d === g.denseShape[i]);
    if (!same) {
      throw new TypeError(
        `${what} is an IndexedSlices of denseShape ${dense}, but the variable's shape is ` +
          `[${shape.join(", ")}]: the rows do not match`,
      );
    }
  }
  const width = g.rowSize;
  if (elements % width !== 0) {
    throw new TypeError(
      `${what}: rows of ${width} elements (denseShape ${dense}) do not divide the variable's ` +
        `${elements} elements`,
    );
  }
  const rows = elements / width;
  const indices = g.indices;
  if (indices instanceof Int32Array || indices instanceof Uint32Array) {
    for (let i = 0; i < indices.length; i++) {
      const index = indices[i];
      if (index < 0 || index >= rows) {
        throw new RangeError(
          `${what}: index ${index} at offset ${i} in indices is out of range [0, ${rows})`,
        );
      }
    }
  }
  for (const [part, data] of [["indices", indices], ["values", g.values]] as const) {
    const range = slicesRange(data);
    if (range && (range.buffer.usage & COPY_SRC) === 0) {
      throw new TypeError(`${what}: the buffer of its ${part} needs GPUBufferUsage.COPY_SRC`);
    }
  }
  return { kind: "sparse", slices: g, rows, width };
}

/** Where a variable's own dense gradient is staged, and its element type. */
interface OwnGradient {
  buffer: GPUBuffer | null;
  offset: number;
  half: boolean;
  /** The variable's windows, whose list is its in-place gradient (one unless it is split). */
  windows?: readonly VariableWindow[];
}

/** `variable.windows` handed as a variable's gradient: its gradient regions in place. */
function windowsSource(
  g: unknown[],
  windows: readonly VariableWindow[],
  what: string,
): GradSource {
  if (g.length === windows.length && g.every((w, i) => w === windows[i])) {
    return { kind: "in-place" };
  }
  throw new TypeError(
    `${what} is an array; as an in-place gradient an array must be the variable's own ` +
      `variable.windows (the same objects)`,
  );
}

function gradSource(
  g: unknown,
  byteLength: number,
  what: string,
  own: OwnGradient,
  shape: readonly number[] | null = null,
): GradSource | null {
  if (g === null || g === undefined) return null;
  const elements = byteLength / 4;
  // An array of numbers is a mistake of another kind (below: what a gradient may be).
  if (Array.isArray(g) && own.windows && !g.every((x) => typeof x === "number")) {
    return windowsSource(g, own.windows, what);
  }
  if (g instanceof IndexedSlices) return sparseSource(g, shape, elements, what);
  if (g instanceof Float32Array || (own.half && isHalfData(g))) {
    if (g.length !== elements) {
      throw new TypeError(`${what} has ${g.length} elements, expected ${elements}`);
    }
    return { kind: "upload", data: own.half ? halfWords(g) : g as Float32Array };
  }
  if (g instanceof BufferRegion && g.dtype !== (own.half ? "float16" : "float32")) {
    throw new TypeError(
      `${what} is a ${g.dtype} region, but the variable's gradients are ` +
        `${own.half ? "float16" : "float32"}`,
    );
  }
  if (isHalfData(g)) {
    throw new TypeError(
      `${what} is 16-bit data, but the variable's store keeps float32 gradients; make the ` +
        `store with { gradDtype: "float16" }, or pass a Float32Array`,
    );
  }
  // A float16 gradient in a GPU range: its halves padded to whole 32-bit words.
  if (own.half) byteLength = alignUp(2 * elements, 4);
  if (g instanceof Variable) {
    throw new TypeError(`${what} is a Variable; pass its gradient region (.grad) instead`);
  }
  const range = gpuRange(g, what);
  if (!range) {
    throw new TypeError(
      `${what} must be a Float32Array, an IndexedSlices, a BufferRegion, a GPUBuffer, ` +
        `{ buffer, offset?, size? } or null, got ${describe(g)}`,
    );
  }
  const { buffer, offset, size } = range;
  if (size !== byteLength) {
    throw new TypeError(`${what} covers ${size} bytes, expected ${byteLength}`);
  }
  if (buffer === own.buffer) {
    if (offset === own.offset) return { kind: "in-place" };
    throw new TypeError(
      `${what} lies in the same gradient arena at another offset; WebGPU cannot copy within one ` +
        `buffer, so write the gradient into the variable's own .grad region`,
    );
  }
  if ((buffer.usage & COPY_SRC) === 0) {
    throw new TypeError(`${what}: its buffer needs GPUBufferUsage.COPY_SRC to be copied`);
  }
  return { kind: "copy", buffer, offset: offset as number };
}

/** Validates `pairs` completely; throws a TypeError or RangeError naming what is wrong. */
export function planStep(pairs: unknown, context: PlanContext): StepPlan {
  if (
    typeof pairs !== "object" || pairs === null ||
    typeof (pairs as Iterable<unknown>)[Symbol.iterator] !== "function"
  ) {
    throw new TypeError(
      `applyGradients: expected an iterable of [gradient, variable] pairs, got ${describe(pairs)}`,
    );
  }
  const plan: StepPlan = { entries: [], missing: [], device: context.device };
  const seen: Seen = { variables: new Set(), names: new Map(), external: new Map() };
  let i = 0;
  for (const pair of pairs as Iterable<unknown>) {
    const at = `applyGradients: pair ${i++}`;
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new TypeError(`${at} must be [gradient, variable], got ${describe(pair)}`);
    }
    const [g, v] = pair;
    if (v instanceof Variable) planStoreVariable(plan, g, v, seen, context);
    else planExternalVariable(plan, g, externalRef(v, at), seen, context);
  }
  if (plan.entries.length === 0 && plan.missing.length > 0) {
    throw new RangeError(
      `No gradients provided for any variable: [${plan.missing.map((n) => `'${n}'`).join(", ")}].`,
    );
  }
  checkSparseTotals(plan);
  checkExternalWindows(plan, seen.external, context);
  return plan;
}

/** The variables a step has listed so far. */
interface Seen {
  variables: Set<Variable>;
  /** Store variables by name, this step's. */
  names: Map<string, Variable>;
  /** Variables in caller buffers, by buffer. */
  external: Map<GPUBuffer, ExternalRef[]>;
}

/** Adds a store variable's pair to the plan. */
function planStoreVariable(
  plan: StepPlan,
  g: unknown,
  v: Variable,
  seen: Seen,
  context: PlanContext,
): void {
  const arena = arenaOf(v);
  arena.assertAlive(`variable '${v.name}'`);
  if (plan.device && plan.device !== arena.device) {
    throw new TypeError(
      `variable '${v.name}' lives on another GPUDevice than the other variables of this optimizer`,
    );
  }
  plan.device = arena.device;
  if (seen.variables.has(v)) {
    throw new TypeError(`variable '${v.name}' appears more than once in one step`);
  }
  seen.variables.add(v);
  const namesake = seen.names.get(v.name) ?? context.variableNamed(v.name);
  if (namesake && namesake !== v) {
    const store = arena.label;
    const other = arenaOf(namesake).label;
    throw new TypeError(
      `variable '${v.name}' of VariableStore '${store}' has the name of another variable this ` +
        `optimizer updates, of ${
          other === store
            ? `another VariableStore also labelled '${other}'`
            : `VariableStore '${other}'`
        }: slots and checkpoints are keyed by variable name, so give the two distinct names`,
    );
  }
  seen.names.set(v.name, v);
  const half = arena.gradDtype === "float16";
  const pieces = piecesOf(v);
  // `windows` is in-place for any variable (one window when it fits one binding), so code written
  // for split tables runs unchanged on small ones; read only then (a window makes the gradient).
  const own: OwnGradient = v.split ? { buffer: null, offset: 0, half, windows: v.windows } : {
    buffer: arena.gradBufferIfAllocated,
    offset: half ? v.offset / 2 : v.offset,
    half,
    windows: Array.isArray(g) ? v.windows : undefined,
  };
  const what = `gradient for variable '${v.name}'`;
  const grad = gradSource(g, v.byteLength, what, own, v.shape);
  if (half && grad && grad.kind !== "sparse") context.checkHalfDense(v.name);
  if (grad?.kind === "copy" && half && pieces.some((p) => p.first % 2 === 1)) {
    throw new TypeError(
      `${what}: a float16 gradient in another buffer is copied window by window, and variable ` +
        `'${v.name}' has a window starting at an odd element; write it into its windows' grad ` +
        `regions, or upload it`,
    );
  }
  if (grad) plan.entries.push({ kind: "store", variable: v, pieces, grad });
  else plan.missing.push(v.name);
}

/** Adds the pair of a variable in a caller's buffer to the plan, refusing overlaps. */
function planExternalVariable(
  plan: StepPlan,
  g: unknown,
  ref: ExternalRef,
  seen: Seen,
  context: PlanContext,
): void {
  const group = context.externalGroups.get(ref.buffer);
  const listed = seen.external.get(ref.buffer) ?? [];
  const known = group ? group.indexOf(ref.offset, ref.byteLength) >= 0 : false;
  for (const other of [...(known ? [] : group?.refs ?? []), ...listed]) {
    const overlaps = ref.offset < other.offset + other.byteLength &&
      other.offset < ref.offset + ref.byteLength;
    if (!overlaps) continue;
    const same = other.offset === ref.offset && other.byteLength === ref.byteLength;
    throw same
      ? new TypeError(`variable '${ref.name}' appears more than once in one step`)
      : new RangeError(
        `variable '${ref.name}' (bytes ${ref.offset}..${ref.offset + ref.byteLength}) ` +
          `overlaps variable '${other.name}' in the same buffer`,
      );
  }
  listed.push(ref);
  seen.external.set(ref.buffer, listed);
  const own = { buffer: null, offset: 0, half: false };
  const grad = gradSource(g, ref.byteLength, `gradient for variable '${ref.name}'`, own);
  if (grad) plan.entries.push({ kind: "external", ref, grad });
  else plan.missing.push(ref.name);
}

/**
 * Variables in caller buffers need a device, an optimizer that can update them, and, per buffer,
 * a window one binding can cover.
 */
function checkExternalWindows(
  plan: StepPlan,
  listed: ReadonlyMap<GPUBuffer, readonly ExternalRef[]>,
  context: PlanContext,
): void {
  const external = plan.entries.filter((e): e is ExternalEntry => e.kind === "external");
  if (external.length === 0) return;
  const device = plan.device;
  if (!device) {
    throw new TypeError(
      "applyGradients: variables in your own buffers need a device; pass `device` to the " +
        "Adagrad constructor or update a VariableStore variable first",
    );
  }
  const limit = device.limits.maxStorageBufferBindingSize;
  const alignment = device.limits.minStorageBufferOffsetAlignment;
  for (const [buffer, refs] of listed) {
    const all = [...(context.externalGroups.get(buffer)?.refs ?? []), ...refs];
    const window = bindingWindow(all, alignment);
    if (window.size > limit) {
      throw new RangeError(
        `variables in buffer '${buffer.label}' span ${window.size} bytes, more than one ` +
          `binding may cover (maxStorageBufferBindingSize ${limit})`,
      );
    }
  }
  for (const e of external) context.checkExternal(e.ref.name);
}

/**
 * The step's sparse gradients are staged end to end in one buffer each for values and sort pairs,
 * and keyed in one u32 range: refuse a step that would not fit, before anything is written.
 */
function checkSparseTotals(plan: StepPlan): void {
  let keys = 0;
  let nnz = 0;
  let values = 0;
  for (const e of plan.entries) {
    if (e.grad.kind !== "sparse") continue;
    keys += e.grad.rows + 1;
    nnz += e.grad.slices.nnz;
    values += e.grad.slices.nnz * e.grad.width;
  }
  if (nnz === 0) return;
  if (keys >= MAX_KEYS) {
    throw new RangeError(
      `applyGradients: the sparse gradients of one step cover ${keys} rows in all; at most ` +
        `${MAX_KEYS - 1} fit the sort's 32-bit keys`,
    );
  }
  const limit = plan.device?.limits.maxStorageBufferBindingSize ?? Infinity;
  const pairs = pairBytes(nnz);
  if (4 * values > limit || pairs > limit) {
    throw new RangeError(
      `applyGradients: the sparse gradients of one step hold ${nnz} indices and ${values} values; ` +
        `staging them needs ${Math.max(4 * values, pairs)} bytes in one binding, more than ` +
        `maxStorageBufferBindingSize (${limit}): split the step or request larger limits`,
    );
  }
}

/** Keras's warning for skipped variables, once per distinct set of names (`warned` keeps them). */
export function warnMissing(warned: Set<string>, names: readonly string[]): void {
  if (names.length === 0) return;
  const list = `[${names.map((n) => `'${n}'`).join(", ")}]`;
  if (warned.has(list)) return;
  warned.add(list);
  console.warn(`Gradients do not exist for variables ${list} when minimizing the loss.`);
}
