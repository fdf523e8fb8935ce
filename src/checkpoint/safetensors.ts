import { describe } from "../_common/validate.ts";

/** A tensor of a safetensors file: its dtype, shape and raw little-endian bytes. */
export interface SafetensorsEntry {
  /** `"F32"`, `"I64"`, ... as safetensors names them. */
  dtype: string;
  /** Dimensions, outermost first; `[]` for a scalar. */
  shape: number[];
  /** The raw bytes (a view into the file). */
  data: Uint8Array;
}

/** A parsed safetensors file. */
export interface SafetensorsFile {
  /** The `__metadata__` strings. */
  metadata: Record<string, string>;
  /** The tensors, by name, in file order. */
  tensors: Map<string, SafetensorsEntry>;
}

const BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};

/**
 * Encodes tensors in the safetensors format (huggingface/safetensors): an 8-byte little-endian
 * header length, a JSON header giving each tensor's dtype, shape and byte range, padded with
 * spaces to 8 bytes, then the data, in the order given.
 *
 * @example
 * ```ts
 * import { encodeSafetensors } from "@webgpu-adagrad/core";
 *
 * const bytes = encodeSafetensors(
 *   new Map([["w", { dtype: "F32", shape: [2], data: new Uint8Array(new Float32Array([1, 2]).buffer) }]]),
 *   { format: "pt" },
 * );
 * console.log(bytes.length); // 8 + header + 8
 * ```
 */
export function encodeSafetensors(
  tensors: ReadonlyMap<string, SafetensorsEntry>,
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    const expected = (BYTES[t.dtype] ?? NaN) * t.shape.reduce((a, b) => a * b, 1);
    if (t.data.byteLength !== expected) {
      throw new TypeError(
        `safetensors: tensor '${name}' (${t.dtype} [${t.shape.join(", ")}]) has ` +
          `${t.data.byteLength} bytes, expected ${expected}`,
      );
    }
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + expected] };
    offset += expected;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const spaced = new Uint8Array(padded).fill(0x20);
    spaced.set(json);
    json = spaced;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of tensors.values()) {
    out.set(t.data, at);
    at += t.data.byteLength;
  }
  return out;
}

/**
 * Parses a safetensors file, checking its header: every byte range inside the data, of the size
 * its dtype and shape need, and the ranges covering the data without gaps or overlaps.
 *
 * @example
 * ```ts
 * import { decodeSafetensors, encodeSafetensors } from "@webgpu-adagrad/core";
 *
 * const data = new Uint8Array(new Float32Array([1, 2]).buffer);
 * const file = decodeSafetensors(encodeSafetensors(new Map([["w", { dtype: "F32", shape: [2], data }]])));
 * console.log(file.tensors.get("w")?.shape); // [2]
 * ```
 *
 * @throws {TypeError} for bytes that are not a well-formed safetensors file
 */
export function decodeSafetensors(bytes: Uint8Array): SafetensorsFile {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`safetensors: expected a Uint8Array, got ${describe(bytes)}`);
  }
  const bad = (why: string) => new TypeError(`safetensors: not a valid file: ${why}`);
  if (bytes.length < 8) throw bad("shorter than its 8-byte header length");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = Number(view.getBigUint64(0, true));
  if (length > bytes.length - 8) throw bad(`header length ${length} exceeds the file`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
  } catch (e) {
    throw bad(`header is not JSON (${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw bad("header is not a JSON object");
  }
  const data = bytes.subarray(8 + length);
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, SafetensorsEntry>();
  const ranges: [number, number, string][] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === "__metadata__") {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== "string") throw bad(`metadata '${k}' is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const t = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const shape = t.shape;
    const offsets = t.data_offsets;
    if (
      typeof t.dtype !== "string" || !(t.dtype in BYTES) || !Array.isArray(shape) ||
      shape.some((d) => !Number.isSafeInteger(d) || d < 0) || !Array.isArray(offsets) ||
      offsets.length !== 2 || offsets.some((o) => !Number.isSafeInteger(o))
    ) {
      throw bad(`tensor '${name}' has a malformed entry`);
    }
    const [begin, end] = offsets as [number, number];
    const size = BYTES[t.dtype] * (shape as number[]).reduce((a, b) => a * b, 1);
    if (begin < 0 || end > data.length || end - begin !== size) {
      throw bad(`tensor '${name}' has byte range [${begin}, ${end}), expected ${size} bytes`);
    }
    ranges.push([begin, end, name]);
    tensors.set(name, {
      dtype: t.dtype,
      shape: shape as number[],
      data: data.subarray(begin, end),
    });
  }
  ranges.sort((a, b) => a[0] - b[0]);
  let covered = 0;
  for (const [begin, end, name] of ranges) {
    if (begin !== covered) throw bad(`tensor '${name}' leaves a gap or overlaps another`);
    covered = end;
  }
  if (covered !== data.length) throw bad("the data is longer than its tensors");
  return { metadata, tensors };
}
