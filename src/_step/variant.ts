// What differs between element-wise Adagrad (one accumulator per element, Keras) and row-wise
// Adagrad (one per row, FBGEMM's EXACT_ROWWISE_ADAGRAD), as one object: the slot's shape and
// layout, which kernel applies a dense gradient, and the sparse kernel. Each optimizer class
// declares its variant (AdagradBase's `classVariant`); the optimizer, the step and the checkpoint
// ask the variant, and nothing else tells the two apart.
import type { ArenaMember } from "../memory/_arena.ts";
import type { Kernels, SparseKernel } from "../_kernels/kernels.ts";
import type { StagedSlices } from "../sparse/_staging.ts";

/** A dense gradient's data, as the step has it staged or where it already lies. */
export type DenseValues =
  | Float32Array
  | Uint16Array
  | { buffer: GPUBuffer; offset: number; size: number };

export interface Variant {
  /**
   * The optimizer class checkpoints name: from here rather than `constructor.name`, which
   * bundlers and minifiers rename.
   */
  readonly optimizerClass: string;
  /** The accumulator's shape for a variable of `shape`. */
  slotShape(shape: readonly number[]): number[];
  /**
   * Where each member of a store arena keeps its accumulator (element offsets), the bytes of the
   * arena's accumulator buffer, and whether the vec4 dense kernel may run over it.
   */
  arenaSlots(
    members: readonly ArenaMember[],
    bufferSize: number,
  ): { offsets: number[]; bytes: number; vectorize: boolean };
  /**
   * Whether a dense gradient is applied row by row (the row kernel, reading the gradient where it
   * lies in the group's gradient arena) rather than element by element.
   */
  readonly denseRows: boolean;
  /** Elements per sparse tile and the elements a staged part spreads over. */
  sparseTiling(staged: StagedSlices, kernels: Kernels): { unit: number; length: number };
  /** The kernel that updates touched rows. */
  readonly sparseKernel: SparseKernel;
  /** Throws unless a variable in the caller's own buffer (`name`) can be updated. */
  checkExternal(optimizer: string, name: string): void;
  /** Throws unless a dense float16 gradient (of a `gradDtype: "float16"` store) can be read. */
  checkHalfDense(optimizer: string, name: string): void;
}

/** Rows and elements per row of a variable of `shape`: the first dimension is the row. */
export function rowsOf(shape: readonly number[]): { rows: number; width: number } {
  const size = shape.reduce((a, b) => a * b, 1);
  const rows = shape.length === 0 ? 1 : shape[0];
  return { rows, width: rows === 0 ? 0 : size / rows };
}

/** Keras's Adagrad: the accumulator mirrors the variable. */
export const ELEMENT_WISE: Variant = {
  optimizerClass: "Adagrad",
  slotShape: (shape) => [...shape],
  // Mirrors the variable arena's layout, so one offset addresses a variable, its gradient and
  // its accumulator; store offsets are 16-byte aligned, so vec4 loads fit.
  arenaSlots: (members, bufferSize) => ({
    offsets: members.map((m) => m.offset / 4),
    bytes: bufferSize,
    vectorize: true,
  }),
  denseRows: false,
  sparseTiling: (s, kernels) => ({ unit: kernels.tileElements, length: s.nnz * s.width }),
  sparseKernel: "element",
  checkExternal: () => {},
  checkHalfDense: () => {},
};

/** Element-wise, as Keras's, for another optimizer class (its checkpoints name it). */
export function elementWiseAs(optimizerClass: string): Variant {
  return { ...ELEMENT_WISE, optimizerClass };
}

/** Row-wise Adagrad: one accumulator per row; every gradient goes through the row kernel. */
export const ROW_WISE: Variant = {
  optimizerClass: "RowWiseAdagrad",
  slotShape: (shape) => [rowsOf(shape).rows],
  // Each member's rows end to end.
  arenaSlots: (members) => {
    let next = 0;
    const offsets = members.map((m) => (next += rowsOf(m.shape).rows) - rowsOf(m.shape).rows);
    return { offsets, bytes: Math.max(16, Math.ceil(next / 4) * 16), vectorize: false };
  },
  // Every row once, in order, from the gradient arena: the row kernel's identity tiles.
  denseRows: true,
  // One row (sorted position) per thread, or per kernels.rowLanes lanes.
  sparseTiling: (s, kernels) => ({ unit: kernels.rowsPerTile, length: s.nnz }),
  sparseKernel: "row",
  checkExternal: (optimizer, name) => {
    throw new TypeError(
      `${optimizer}: variable '${name}' is in your own buffer; row-wise accumulators need the ` +
        `variable's shape, so use a VariableStore variable`,
    );
  },
  checkHalfDense: (optimizer, name) => {
    throw new TypeError(
      `${optimizer}: variable '${name}' has a dense float16 gradient; the row-wise kernel reads ` +
        `float32 rows: give it an IndexedSlices, or use a float32 store`,
    );
  },
};
