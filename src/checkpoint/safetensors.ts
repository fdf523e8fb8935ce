import { encodeHeader, splitSafetensors, tensorBytes } from "./_safetensors_header.ts";

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
  for (const [name, t] of tensors) {
    const expected = tensorBytes(t.dtype, t.shape);
    if (t.data.byteLength !== expected) {
      throw new TypeError(
        `safetensors: tensor '${name}' (${t.dtype} [${t.shape.join(", ")}]) has ` +
          `${t.data.byteLength} bytes, expected ${expected}`,
      );
    }
  }
  const entries = [...tensors].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape }));
  const header = encodeHeader(entries, metadata);
  const out = new Uint8Array(header.bytes.length + header.dataLength);
  out.set(header.bytes);
  let at = header.bytes.length;
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
  const { header, data } = splitSafetensors(bytes);
  const tensors = new Map<string, SafetensorsEntry>();
  for (const [name, t] of header.tensors) {
    tensors.set(name, { dtype: t.dtype, shape: t.shape, data: data.subarray(t.begin, t.end) });
  }
  return { metadata: header.metadata, tensors };
}
