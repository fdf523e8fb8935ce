// Argument checks shared by the public entry points. Convention: TypeError for a wrong type, shape
// or length; RangeError for a value out of range. Every check runs before anything is encoded.

/** A short description of a value for error messages. */
export function describe(x: unknown): string {
  if (x === null) return "null";
  if (x === undefined) return "undefined";
  if (Array.isArray(x)) return `an array of length ${x.length}`;
  if (ArrayBuffer.isView(x)) {
    const n = (x as unknown as { length?: number }).length;
    return `a ${x.constructor.name}${n === undefined ? "" : ` of length ${n}`}`;
  }
  if (typeof x === "object") {
    const name = (x as object).constructor?.name;
    return name && name !== "Object" ? `a ${name}` : "an object";
  }
  if (typeof x === "string") return `the string ${JSON.stringify(x)}`;
  return `${typeof x} ${String(x)}`;
}

/** Duck-typed `GPUBuffer` check (Dawn's, wgpu's and browsers' classes differ). */
export function isGpuBuffer(x: unknown): x is GPUBuffer {
  if (typeof x !== "object" || x === null) return false;
  const b = x as Partial<GPUBuffer>;
  return typeof b.mapAsync === "function" && typeof b.usage === "number" &&
    typeof b.size === "number";
}

/** Throws unless `x` is a finite number; returns it. */
export function finiteNumber(x: unknown, what: string): number {
  if (typeof x !== "number") throw new TypeError(`${what} must be a number, got ${describe(x)}`);
  if (!Number.isFinite(x)) throw new RangeError(`${what} must be finite, got ${x}`);
  return x;
}

/** Throws unless `shape` is an array of non-negative integers with a positive product. */
export function checkShape(shape: unknown, what: string): number {
  if (!Array.isArray(shape)) {
    throw new TypeError(`${what}: shape must be an array of integers, got ${describe(shape)}`);
  }
  let size = 1;
  for (const d of shape) {
    if (typeof d !== "number" || !Number.isInteger(d) || d < 0) {
      throw new TypeError(
        `${what}: shape must hold non-negative integers, got [${shape.join(", ")}]`,
      );
    }
    size *= d;
  }
  if (size === 0) throw new RangeError(`${what}: shape [${shape.join(", ")}] has no elements`);
  if (!Number.isSafeInteger(size)) {
    throw new RangeError(`${what}: shape [${shape.join(", ")}] is too large`);
  }
  return size;
}

/** Throws unless `data` is a finite number or a Float32Array of `size` elements. */
export function checkValues(data: unknown, size: number, what: string): void {
  if (typeof data === "number") {
    finiteNumber(data, `${what}: value`);
    return;
  }
  if (!(data instanceof Float32Array)) {
    throw new TypeError(
      `${what}: values must be a Float32Array or a number, got ${describe(data)}`,
    );
  }
  if (data.length !== size) {
    throw new TypeError(`${what}: expected ${size} values, got ${data.length}`);
  }
}

/** Throws unless `byte` offsets and sizes are whole float32 elements. */
export function checkByteRange(
  offset: unknown,
  size: unknown,
  bufferSize: number,
  what: string,
): void {
  if (typeof offset !== "number" || !Number.isInteger(offset) || offset < 0 || offset % 4 !== 0) {
    throw new RangeError(`${what}: offset must be a non-negative multiple of 4, got ${offset}`);
  }
  if (typeof size !== "number" || !Number.isInteger(size) || size <= 0 || size % 4 !== 0) {
    throw new RangeError(`${what}: size must be a positive multiple of 4 bytes, got ${size}`);
  }
  if (offset + size > bufferSize) {
    throw new RangeError(
      `${what}: bytes [${offset}, ${offset + size}) lie outside the buffer (${bufferSize} bytes)`,
    );
  }
}

/** A resolved GPU byte range. */
export interface GpuRange {
  buffer: GPUBuffer;
  offset: number;
  size: number;
}

/**
 * Resolves a `GPUBuffer` or a `{ buffer, offset?, size? }` binding (a `BufferRegion` is one; its
 * `byteLength` is read first, for objects that have one) to bytes, checked against the buffer;
 * null if `x` is neither.
 */
export function gpuRange(x: unknown, what: string): GpuRange | null {
  let buffer: GPUBuffer;
  let offset: unknown;
  let size: unknown;
  if (isGpuBuffer(x)) {
    [buffer, offset, size] = [x, 0, x.size];
  } else if (
    typeof x === "object" && x !== null && isGpuBuffer((x as { buffer?: unknown }).buffer)
  ) {
    const b = x as { buffer: GPUBuffer; offset?: unknown; size?: unknown; byteLength?: unknown };
    buffer = b.buffer;
    offset = b.offset ?? 0;
    size = b.byteLength ?? b.size ?? buffer.size - (typeof offset === "number" ? offset : 0);
  } else return null;
  checkByteRange(offset, size, buffer.size, what);
  return { buffer, offset: offset as number, size: size as number };
}

/** `minimize`'s arguments, before the caller's function runs. */
export function checkMinimize(computeGradients: unknown, varList: unknown): void {
  if (typeof computeGradients !== "function") {
    throw new TypeError(`minimize: expected a function, got ${describe(computeGradients)}`);
  }
  if (!Array.isArray(varList)) {
    throw new TypeError(`minimize: varList must be an array, got ${describe(varList)}`);
  }
}

/** What `minimize`'s function returned: one gradient per variable. */
export function checkGradientList<T>(grads: readonly T[], count: number): readonly T[] {
  if (!Array.isArray(grads) || grads.length !== count) {
    throw new TypeError(
      `minimize: the function returned ${describe(grads)}, expected ${count} gradients`,
    );
  }
  return grads;
}
