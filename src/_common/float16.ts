// IEEE half floats on the CPU, for float16 gradients handed over as numbers. Node 20 has no
// Float16Array, so the rounding is written out: round to nearest, ties to even, as
// `pack2x16float` and Float16Array do (tests compare with Float16Array where it exists).

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float16 bits nearest to `x` (as a float32 first). */
export function halfBits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const e = (b >>> 23) & 0xff;
  const m = b & 0x7fffff;
  if (e === 0xff) return sign | 0x7c00 | (m !== 0 ? 0x200 | (m >>> 13) : 0); // NaN stays NaN
  const exp = e - 112; // rebias 127 -> 15
  if (exp >= 0x1f) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign; // under half the smallest subnormal
    const full = m | 0x800000;
    const shift = 14 - exp;
    const h = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    return sign | (rest > half || (rest === half && (h & 1) === 1) ? h + 1 : h);
  }
  const h = (exp << 10) | (m >>> 13);
  const rest = m & 0x1fff;
  // A carry out of the mantissa moves into the exponent, as it should (up to infinity).
  return sign | (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1) ? h + 1 : h);
}

/** The value of float16 bits `h`. */
export function halfValue(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0x1f) return m === 0 ? sign * Infinity : NaN;
  if (e === 0) return sign * m * 2 ** -24;
  return sign * (1024 + m) * 2 ** (e - 25);
}

/**
 * `values` as float16 bits, in a Uint16Array padded to an even length (queue writes take whole
 * 32-bit words): a Float32Array is rounded, 16-bit data (Uint16Array bits, or a Float16Array
 * where the runtime has one) is taken as it is.
 */
export function halfWords(values: Float32Array | Uint16Array): Uint16Array<ArrayBuffer> {
  const out = new Uint16Array(values.length + (values.length & 1));
  if (values instanceof Float32Array) {
    for (let i = 0; i < values.length; i++) out[i] = halfBits(values[i]);
  } else out.set(bitsOf(values));
  return out;
}

/** The bits of 16-bit float data, without a copy (a Float16Array's `set` would convert values). */
export function bitsOf(values: Uint16Array): Uint16Array {
  return new Uint16Array(values.buffer, values.byteOffset, values.length);
}

/** Whether `x` is 16-bit float data: a Uint16Array of bits, or a Float16Array. */
export function isHalfData(x: unknown): x is Uint16Array {
  if (x instanceof Uint16Array) return true;
  const F16 = (globalThis as { Float16Array?: new () => ArrayBufferView }).Float16Array;
  return F16 !== undefined && x instanceof F16;
}
