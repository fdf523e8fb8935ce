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
    throw notSafetensors(
      `the file is ${fileLength} bytes long, shorter than the 8-byte header length every ` +
        `safetensors file starts with; the file is truncated or empty`,
    );
  }
  const view = new DataView(first8.buffer, first8.byteOffset, 8);
  const length = Number(view.getBigUint64(0, true));
  if (length > fileLength - 8) {
    throw notSafetensors(
      `its first 8 bytes say the header (JSON) takes ${length} bytes, up to byte ${8 + length}, ` +
        `but the file ends at byte ${fileLength}; the file is truncated, or its first 8 bytes ` +
        `are not a safetensors header length`,
    );
  }
  if (length > MAX_HEADER_BYTES) {
    throw notSafetensors(`header length ${length} exceeds safetensors' ${MAX_HEADER_BYTES} bytes`);
  }
  return length;
}

/** Why a tensor's header entry is malformed, or null when it is well-formed. */
function malformed(dtype: unknown, shape: unknown, offsets: unknown): string | null {
  if (typeof dtype !== "string" || !(dtype in DTYPE_BYTES)) {
    return `its dtype ${JSON.stringify(dtype) ?? "undefined"} is not one of ` +
      Object.keys(DTYPE_BYTES).join(", ");
  }
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    return `its shape ${JSON.stringify(shape) ?? "undefined"} is not a list of non-negative ` +
      `integers`;
  }
  if (
    !Array.isArray(offsets) || offsets.length !== 2 ||
    offsets.some((o) => !Number.isSafeInteger(o) || o < 0) || offsets[0] > offsets[1]
  ) {
    return `its data_offsets ${JSON.stringify(offsets) ?? "undefined"} are not a byte range ` +
      `[begin, end] with 0 <= begin <= end`;
  }
  return null;
}

/**
 * Parses the header's JSON and checks it against the data section's length: every byte range
 * inside it, of the size its dtype and shape need, the ranges covering it with no gap or overlap.
 * Messages name positions in the file (the data starts at byte `8 + json.length`).
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
  const dataStart = 8 + json.length;
  const fileLength = dataStart + dataLength;
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorLayout>();
  for (const [name, value] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw notSafetensors(`__metadata__ is ${describe(value)}, not an object of strings`);
      }
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== "string") throw notSafetensors(`metadata '${k}' is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const t = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const { dtype, shape, data_offsets: offsets } = t ?? {};
    const why = malformed(dtype, shape, offsets);
    if (why) throw notSafetensors(`tensor '${name}' has a malformed entry: ${why}`);
    const [begin, end] = offsets as [number, number];
    const size = tensorBytes(dtype as string, shape as number[]);
    if (end - begin !== size) {
      throw notSafetensors(
        `tensor '${name}' is ${dtype} [${(shape as number[]).join(", ")}], which takes ${size} ` +
          `bytes, but its data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    }
    tensors.set(name, { name, dtype: dtype as string, shape: shape as number[], begin, end });
  }
  // The header on its own first: ranges back to back from 0, then against the file's length.
  const sorted = [...tensors.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: TensorLayout | null = null;
  for (const t of sorted) {
    if (previous && t.begin < covered) {
      throw notSafetensors(
        t.begin === t.end
          ? `tensor '${t.name}' (empty, data_offsets [${t.begin}, ${t.end}]) lies inside tensor ` +
            `'${previous.name}' ([${previous.begin}, ${previous.end}])`
          : `tensors '${previous.name}' (data_offsets [${previous.begin}, ${previous.end}]) and ` +
            `'${t.name}' ([${t.begin}, ${t.end}]) overlap in bytes [${t.begin}, ` +
            `${Math.min(covered, t.end)}) of the data`,
      );
    }
    if (t.begin > covered) {
      throw notSafetensors(
        `bytes [${covered}, ${t.begin}) of the data, before tensor '${t.name}', belong to no ` +
          `tensor (a gap between the header's byte ranges)`,
      );
    }
    covered = t.end;
    previous = t;
  }
  if (previous && covered > dataLength) {
    throw notSafetensors(
      `the file ends at byte ${fileLength}, but tensor '${previous.name}' needs bytes up to ` +
        `${dataStart + covered} (data_offsets [${previous.begin}, ${previous.end}] after a ` +
        `${dataStart}-byte header); the file is truncated: ${covered - dataLength} bytes are ` +
        `missing`,
    );
  }
  if (covered !== dataLength) {
    throw notSafetensors(
      `the file is ${fileLength} bytes long, ${dataLength - covered} bytes longer than its ` +
        `tensors, which end at byte ${dataStart + covered}: the last bytes belong to no tensor`,
    );
  }
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
