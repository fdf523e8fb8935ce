// A step's gradients as the stages take them: an IndexedSlices as a part of the sparse staging,
// and a dense gradient as the data to stage into its home (or where it already lies).
import { bitsOf, halfValue } from "../_common/float16.ts";
import { type SlicesData, slicesData } from "../sparse/indexed_slices.ts";
import type { SparsePart } from "../sparse/_staging.ts";
import type { GradSource, SparseSource } from "./plan.ts";
import type { SlotHome } from "./slot_home.ts";
import type { DenseValues } from "./variant.ts";

/** An IndexedSlices gradient as the staging buffers take it. */
export function sparsePart({ slices, rows, width }: SparseSource): SparsePart {
  const indices = slicesData(slices.indices);
  const half = slices.valuesDtype === "float16";
  const data = slices.values;
  // CPU halves are widened here (exactly); GPU ones by the step's widening dispatch.
  const values = half && ArrayBuffer.isView(data)
    ? Float32Array.from(bitsOf(data as Uint16Array), halfValue)
    : slicesData(data as SlicesData<Float32Array>);
  return {
    rows,
    width,
    nnz: slices.nnz,
    indices,
    values,
    halfValues: half && !ArrayBuffer.isView(data),
  };
}

/** Where a dense gradient's data is: the caller's array or buffer, or its home's staging area. */
export function denseValues(grad: GradSource, home: SlotHome, index: number): DenseValues {
  if (grad.kind === "upload") return grad.data;
  const size = home.gradientBytes(index);
  if (grad.kind === "copy") return { buffer: grad.buffer, offset: grad.offset, size };
  return { ...home.gradientAt(index), size };
}
