// A sparse model's weights saved compactly: for each variable, only its rows that hold a non-zero
// value, and their row numbers. An L1-regularised table (TensorFlow's proximal Adagrads) is mostly
// exact zeros; its serving copy needs only the rest. The file stays plain safetensors: tensor
// `<name>` holds the kept rows ([kept, ...rowShape], F32), `<name>/row_ids` their rows (I32, or
// I64 past 2^31 rows), and the metadata the full shapes, so any safetensors reader can rebuild it.
import { describe } from "../_common/validate.ts";
import { Variable } from "../memory/variable.ts";
import { decodeSafetensors, encodeSafetensors, type SafetensorsEntry } from "./safetensors.ts";

/** The metadata key naming the file's layout, and its value. */
const FORMAT_KEY = "format";
const FORMAT = "webgpu-adagrad/non-zero-rows";
/** Metadata: the variables' full shapes, as JSON `{ name: shape }`. */
const SHAPES_KEY = "dense_shapes";

function checkVariables(variables: unknown, what: string): readonly Variable[] {
  if (!Array.isArray(variables)) {
    throw new TypeError(`${what}: expected an array of Variables, got ${describe(variables)}`);
  }
  const k = variables.findIndex((v) => !(v instanceof Variable));
  if (k >= 0) {
    throw new TypeError(
      `${what}: element ${k} is ${describe(variables[k])}, not a VariableStore's Variable (the ` +
        `variables of your own buffers have no shape to cut rows by)`,
    );
  }
  const names = new Set<string>();
  for (const v of variables as Variable[]) {
    if (names.has(v.name)) throw new TypeError(`${what}: variable '${v.name}' is listed twice`);
    names.add(v.name);
  }
  // Each variable's ids are tensor `<name>/row_ids`: no variable may have that name.
  for (const name of names) {
    if (names.has(`${name}/row_ids`)) {
      throw new TypeError(
        `${what}: variables '${name}' and '${name}/row_ids' would share the tensor of the ` +
          `first one's row ids; rename one`,
      );
    }
  }
  return variables as Variable[];
}

/** Elements per row (the first dimension is the row; a scalar or vector has rows of one). */
function rowLength(shape: readonly number[]): number {
  return shape.length <= 1 ? 1 : shape.slice(1).reduce((a, b) => a * b, 1);
}

/**
 * Saves `variables` as a safetensors file of their non-zero rows only: for a variable `name`, the
 * tensor `name` holds the rows with any non-zero value (NaN counts as non-zero; a row of +0 and -0
 * is zero, and comes back as +0), in order, and `name/row_ids` their row numbers (int32; int64 for
 * a variable past 2^31 rows); the metadata holds the full shapes. Each kept row costs its values
 * and 4 bytes of id: a table of wide rows (embeddings) shrinks about by its share of zero rows, a
 * table of single weights only past half of them at zero (dual averaging's L1 leaves 95% in the demo,
 * trained with L1 by TensorFlow's proximal Adagrads). This saves weights for serving
 * or inspection, not the optimizer's state: to resume training, use {@linkcode saveCheckpoint}. The
 * variables are read whole, so the model must fit in JavaScript memory.
 *
 * @example
 * ```ts
 * import { restoreNonZeroRows, saveNonZeroRows, VariableStore } from "@webgpu-adagrad/core";
 *
 * const adapter = await navigator.gpu.requestAdapter();
 * const device = await adapter!.requestDevice();
 * const store = new VariableStore(device);
 * const values = new Float32Array(1000 * 4);
 * values.set([1, 2, 3, 4], 10 * 4); // row 10; the other 999 rows are zeros
 * const table = store.variable("table", [1000, 4], values);
 * const bytes = await saveNonZeroRows([table]);
 * console.log(bytes.length < 200); // true: one row of 1000
 * restoreNonZeroRows(bytes, [table]); // the other rows become zeros
 * device.destroy();
 * ```
 *
 * @param variables store variables, each listed once
 * @param metadata extra safetensors metadata (strings)
 * @throws {TypeError} for anything but an array of distinct Variables
 */
export async function saveNonZeroRows(
  variables: readonly Variable[],
  metadata: Record<string, string> = {},
): Promise<Uint8Array> {
  const vars = checkVariables(variables, "saveNonZeroRows");
  const tensors = new Map<string, SafetensorsEntry>();
  const shapes: Record<string, number[]> = {};
  for (const v of vars) {
    const values = await v.read();
    const width = rowLength(v.shape);
    const rows: number[] = [];
    for (let r = 0; r * width < values.length; r++) {
      // `!(x === 0)`: NaN is kept, so nothing is lost silently.
      if (values.subarray(r * width, (r + 1) * width).some((x) => !(x === 0))) rows.push(r);
    }
    const kept = new Float32Array(rows.length * width);
    rows.forEach((r, k) => kept.set(values.subarray(r * width, (r + 1) * width), k * width));
    const rowShape = v.shape.length <= 1 ? [] : v.shape.slice(1);
    tensors.set(v.name, {
      dtype: "F32",
      shape: [rows.length, ...rowShape],
      data: new Uint8Array(kept.buffer),
    });
    // int32 ids: a row of one weight costs 8 bytes, not 12.
    const wide = v.shape.length > 0 && v.shape[0] > 0x7fffffff;
    tensors.set(`${v.name}/row_ids`, {
      dtype: wide ? "I64" : "I32",
      shape: [rows.length],
      data: new Uint8Array(
        wide ? BigInt64Array.from(rows, BigInt).buffer : Int32Array.from(rows).buffer,
      ),
    });
    shapes[v.name] = [...v.shape];
  }
  return encodeSafetensors(tensors, {
    ...metadata,
    [FORMAT_KEY]: FORMAT,
    [SHAPES_KEY]: JSON.stringify(shapes),
  });
}

/**
 * Restores what {@linkcode saveNonZeroRows} saved into `variables`, by name: the saved rows get
 * their values and every other row zeros. Everything is checked first (the file's layout, each
 * variable present with its full shape, row numbers in range and increasing, no tensor left
 * unclaimed); only then is anything written.
 *
 * @example
 * ```ts ignore
 * restoreNonZeroRows(await Deno.readFile("model.safetensors"), [table, bias]);
 * ```
 *
 * @throws {TypeError} for a file of another layout, or a name, shape or row that does not match
 */
export function restoreNonZeroRows(bytes: Uint8Array, variables: readonly Variable[]): void {
  const vars = checkVariables(variables, "restoreNonZeroRows");
  const file = decodeSafetensors(bytes);
  const fail = (why: string) => new TypeError(`restoreNonZeroRows: ${why}; nothing was written`);
  if (file.metadata[FORMAT_KEY] !== FORMAT) {
    throw fail(
      `the file is not one of saveNonZeroRows (its format is ${
        JSON.stringify(file.metadata[FORMAT_KEY] ?? null)
      })`,
    );
  }
  let shapes: Record<string, unknown>;
  try {
    shapes = JSON.parse(file.metadata[SHAPES_KEY] ?? "{}");
  } catch {
    throw fail(`its ${SHAPES_KEY} metadata is not JSON`);
  }
  if (typeof shapes !== "object" || shapes === null || Array.isArray(shapes)) {
    throw fail(`its ${SHAPES_KEY} metadata is ${describe(shapes)}, not an object of shapes`);
  }
  const unclaimed = new Set(file.tensors.keys());
  const writes = vars.map((v) => {
    const values = file.tensors.get(v.name);
    const ids = file.tensors.get(`${v.name}/row_ids`);
    if (!values || !ids) throw fail(`the file has no rows of variable '${v.name}'`);
    unclaimed.delete(v.name);
    unclaimed.delete(`${v.name}/row_ids`);
    if (!Object.hasOwn(shapes, v.name)) {
      throw fail(`its ${SHAPES_KEY} metadata has no shape for variable '${v.name}'`);
    }
    const shape = shapes[v.name];
    if (JSON.stringify(shape) !== JSON.stringify(v.shape)) {
      throw fail(
        `variable '${v.name}' has shape [${v.shape.join(", ")}], the file's ${
          JSON.stringify(shape)
        }`,
      );
    }
    const width = rowLength(v.shape);
    const rowShape = v.shape.length <= 1 ? [] : v.shape.slice(1);
    if ((ids.dtype !== "I32" && ids.dtype !== "I64") || ids.shape.length !== 1) {
      throw fail(
        `tensor '${v.name}/row_ids' is ${ids.dtype} [${ids.shape.join(", ")}], not a list of ` +
          `I32 or I64 row ids`,
      );
    }
    const kept = ids.shape[0];
    if (
      values.dtype !== "F32" || JSON.stringify(values.shape) !== JSON.stringify([kept, ...rowShape])
    ) {
      throw fail(
        `tensor '${v.name}' is ${values.dtype} [${values.shape.join(", ")}], but its ${kept} ` +
          `row ids need F32 [${[kept, ...rowShape].join(", ")}]`,
      );
    }
    const buffer = ids.data.slice().buffer;
    const rows: number[] = ids.dtype === "I32"
      ? Array.from(new Int32Array(buffer))
      : Array.from(new BigInt64Array(buffer), Number);
    const dense = new Float32Array(v.length);
    const data = new Float32Array(values.data.slice().buffer);
    const total = v.shape.length === 0 ? 1 : v.shape[0];
    let previous = -1;
    rows.forEach((r, k) => {
      if (r < 0 || r >= total) {
        throw fail(
          `row id ${r} at offset ${k} of '${v.name}/row_ids' is out of range [0, ${total})`,
        );
      }
      if (r <= previous) {
        throw fail(
          `row id ${r} at offset ${k} of '${v.name}/row_ids' follows row ${previous}: the ids ` +
            `must increase (each row once, in order)`,
        );
      }
      previous = r;
      dense.set(data.subarray(k * width, (k + 1) * width), r * width);
    });
    return () => v.write(dense);
  });
  if (unclaimed.size > 0) {
    throw fail(`the file holds tensors nothing here claims: ${[...unclaimed].join(", ")}`);
  }
  for (const write of writes) write();
}
