// The safetensors header on its own, apart from the tensors' bytes: a streamed checkpoint writes
// it before any tensor is read from the GPU, and a streamed restore checks it before any tensor is
// read from the file. encodeSafetensors and decodeSafetensors (safetensors.ts) are built on it, so
// that the bytes in memory and the bytes in a file cannot differ. Offsets are plain numbers: exact
// to 2**53 bytes, far past 2 GiB and past the largest ArrayBuffer.
import { describe } from "../_common/validate.ts";

/** Bytes per element of each safetensors dtype. */
export const DTYPE_BYTES: Readonly<Record<string, number>> = {
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

/** huggingface/safetensors refuses a longer header; so do we, before reading it. */
export const MAX_HEADER_BYTES = 100_000_000;

/** A tensor as the header describes it: `[begin, end)` is its byte range in the data section. */
export interface TensorLayout {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** What a header says: the metadata and the tensors by name, in the header's order. */
export interface SafetensorsHeader {
  metadata: Record<string, string>;
  tensors: Map<string, TensorLayout>;
}

/** The 8-byte length and the JSON, padded, as written; and where each tensor's bytes go. */
export interface EncodedHeader {
  /** The file's first bytes: the little-endian header length, then the padded JSON. */
  bytes: Uint8Array;
  /** The tensors in the order given, each with its byte range in the data section. */
  layout: TensorLayout[];
  /** Bytes after the header: the sum of the tensors' sizes. */
  dataLength: number;
}

/** A tensor's byte size, from its dtype and shape (NaN for an unknown dtype). */
export function tensorBytes(dtype: string, shape: readonly number[]): number {
  return (DTYPE_BYTES[dtype] ?? NaN) * shape.reduce((a, b) => a * b, 1);
}

/** Lays tensors out back to back in the order given and encodes the header that says so. */
export function encodeHeader(
  tensors: Iterable<{ name: string; dtype: string; shape: readonly number[] }>,
  metadata: Record<string, string>,
): EncodedHeader {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const layout: TensorLayout[] = [];
  let offset = 0;
  for (const { name, dtype, shape } of tensors) {
    const size = tensorBytes(dtype, shape);
    header[name] = { dtype, shape: [...shape], data_offsets: [offset, offset + size] };
    layout.push({ name, dtype, shape: [...shape], begin: offset, end: offset + size });
    offset += size;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const bytes = new Uint8Array(8 + padded).fill(0x20, 8 + json.length); // spaces, as the format pads
  new DataView(bytes.buffer).setBigUint64(0, BigInt(padded), true);
  bytes.set(json, 8);
  return { bytes, layout, dataLength: offset };
}

/** Thrown for a file that is not well-formed safetensors. */
export function notSafetensors(why: string): TypeError {
  return new TypeError(`safetensors: not a valid file: ${why}`);
}

/**
 * The JSON's length from a file's first 8 bytes, checked against the file's length before the
 * JSON is read: a corrupt length never makes anyone read gigabytes.
 */
export function headerLength(first8: Uint8Array, fileLength: number): number {
  if (fileLength < 8 || first8.length < 8) {
    throw notSafetensors("shorter than its 8-byte header length");
  }
  const view = new DataView(first8.buffer, first8.byteOffset, 8);
  const length = Number(view.getBigUint64(0, true));
  if (length > fileLength - 8) throw notSafetensors(`header length ${length} exceeds the file`);
  if (length > MAX_HEADER_BYTES) {
    throw notSafetensors(`header length ${length} exceeds safetensors' ${MAX_HEADER_BYTES} bytes`);
  }
  return length;
}

/**
 * Parses the header's JSON and checks it against the data section's length: every byte range
 * inside it, of the size its dtype and shape need, the ranges covering it with no gap or overlap.
 */
export function parseHeader(json: Uint8Array, dataLength: number): SafetensorsHeader {
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(json));
  } catch (e) {
    throw notSafetensors(`header is not JSON (${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw notSafetensors("header is not a JSON object");
  }
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorLayout>();
  for (const [name, value] of Object.entries(header)) {
    if (name === "__metadata__") {
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== "string") throw notSafetensors(`metadata '${k}' is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const t = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const { dtype, shape, data_offsets: offsets } = t ?? {};
    if (
      typeof dtype !== "string" || !(dtype in DTYPE_BYTES) || !Array.isArray(shape) ||
      shape.some((d) => !Number.isSafeInteger(d) || d < 0) || !Array.isArray(offsets) ||
      offsets.length !== 2 || offsets.some((o) => !Number.isSafeInteger(o))
    ) {
      throw notSafetensors(`tensor '${name}' has a malformed entry`);
    }
    const [begin, end] = offsets as [number, number];
    const size = tensorBytes(dtype, shape);
    if (begin < 0 || end > dataLength || end - begin !== size) {
      throw notSafetensors(
        `tensor '${name}' has byte range [${begin}, ${end}), expected ${size} bytes`,
      );
    }
    tensors.set(name, { name, dtype, shape: shape as number[], begin, end });
  }
  let covered = 0;
  for (const t of [...tensors.values()].sort((a, b) => a.begin - b.begin)) {
    if (t.begin !== covered) {
      throw notSafetensors(`tensor '${t.name}' leaves a gap or overlaps another`);
    }
    covered = t.end;
  }
  if (covered !== dataLength) throw notSafetensors("the data is longer than its tensors");
  return { metadata, tensors };
}

/** A whole safetensors file in memory: its header, checked, and its data section. */
export function splitSafetensors(
  bytes: Uint8Array,
): { header: SafetensorsHeader; data: Uint8Array } {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`safetensors: expected a Uint8Array, got ${describe(bytes)}`);
  }
  const length = headerLength(bytes, bytes.length);
  const data = bytes.subarray(8 + length);
  return { header: parseHeader(bytes.subarray(8, 8 + length), data.length), data };
}
