// One step, from resolved entries to a recorded command buffer:
//
//   stage      one loop over the entries: dense gradients into their home's gradient buffer
//              (uploads and copies), IndexedSlices (and, row-wise, dense gradients) into the
//              sparse staging buffers
//   number     the step's variables and their tiles' partial sums, once, dense groups first
//   tables     tile tables, sparse tiles, the variable table of norm clipping (written only when
//              they change)
//   one pass   float16 values widened; sort keys and sort; the finiteness check and the verdict (the guard's, or a dynamic
//              loss scale's update); sums of squares and norms;
//              the dense updates, one dispatch per group; the sparse updates, one per group
//
// Dispatches depend on the number of groups (arenas and caller buffers), never on the number of
// variables, and nothing is allocated unless a step is larger than every step before.
import type { GradSource, SparseSource } from "./plan.ts";
import type { SlotHome } from "./arena_slots.ts";
import type { StepEntry } from "./slot_storage.ts";
import type { SparsePart } from "../sparse/_staging.ts";
import type { StepBuffers } from "./step_buffers.ts";
import { StepNumbering } from "../_kernels/tiles.ts";
import type { GroupMember, SparseMember, UpdateGroup } from "./update_group.ts";
import type { DenseValues, Variant } from "./variant.ts";
import { assertDeviceAlive } from "../device/device_lost.ts";
import { type SlicesData, slicesData } from "../sparse/indexed_slices.ts";
import { bitsOf, halfValue } from "../_common/float16.ts";

/** A gradient that goes through the sparse staging buffers, with the group it updates. */
interface SparseStepMember {
  group: UpdateGroup;
  member: GroupMember;
  part: SparsePart;
}

/** An IndexedSlices gradient as the staging buffers take it. */
function sparsePart({ slices, rows, width }: SparseSource): SparsePart {
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
function denseValues(grad: GradSource, home: SlotHome, e: StepEntry): DenseValues {
  if (grad.kind === "upload") return grad.data;
  const size = home.gradientBytes(e.index);
  if (grad.kind === "copy") return { buffer: grad.buffer, offset: grad.offset, size };
  return { ...home.gradientAt(e.index), size };
}

/** Records the whole step on `encoder` (copies, then one compute pass). */
export function encodeStep(
  encoder: GPUCommandEncoder,
  entries: readonly StepEntry[],
  shared: StepBuffers,
  variant: Variant,
  label: string,
): void {
  const dense = new Map<UpdateGroup, number[]>();
  const sparse: SparseStepMember[] = [];
  for (const e of entries) {
    const { home, index, grad } = e;
    const group = home.group;
    const member = group.members[index];
    if (grad.kind === "sparse") {
      sparse.push({ group, member, part: sparsePart(grad) });
      continue;
    }
    const values = denseValues(grad, home, e);
    const part = variant.denseAsSparse(e.shape, values);
    if (part) {
      sparse.push({ group, member, part });
      continue;
    }
    if (grad.kind !== "in-place") {
      const to = home.gradientAt(index);
      if (ArrayBuffer.isView(values)) {
        shared.device.queue.writeBuffer(to.buffer, to.offset, values as Uint16Array<ArrayBuffer>);
      } else {
        encoder.copyBufferToBuffer(values.buffer, values.offset, to.buffer, to.offset, values.size);
      }
    }
    const ids = dense.get(group);
    if (ids) ids.push(index);
    else dense.set(group, [index]);
  }

  const numbering = new StepNumbering();
  for (const [group, ids] of dense) group.setParticipants(ids.sort((a, b) => a - b), numbering);
  const sparseGroups = new Map<UpdateGroup, SparseMember[]>();
  if (sparse.length > 0) {
    const buffers = shared.sparse;
    const staged = buffers.stage(encoder, sparse.map((s) => s.part));
    const partialBase = numbering.partials;
    const ids = staged.map((s) => numbering.add(s.nnz * s.width));
    // The value rows' tile table serves the norms and the non-finite check.
    if (shared.kernels.spec.normMode !== 0 || shared.guard) {
      buffers.writeValueTiles(staged, ids, partialBase);
    }
    sparse.forEach(({ group, member }, k) => {
      const list = sparseGroups.get(group) ?? [];
      list.push({ member, id: ids[k], staged: staged[k] });
      sparseGroups.set(group, list);
    });
  }
  if (shared.kernels.spec.normMode !== 0) {
    shared.writeVariableTable(numbering.partials, numbering.firsts, numbering.counts);
  }
  for (const [group, members] of sparseGroups) group.setSparse(members, variant);

  // Bind groups are made (or found current) while encoding, after every buffer has grown.
  const pass = encoder.beginComputePass({ label: `${label} update` });
  const staging = sparse.length > 0 ? shared.sparse : null;
  staging?.encodeWiden(pass);
  staging?.encodeSort(pass);
  if (shared.guard) {
    for (const group of dense.keys()) group.encodeCheck(pass);
    staging?.encodeCheck(pass);
    shared.skipGuard?.encodeFinalize(pass);
    shared.lossScale?.encodeUpdate(pass, shared);
  }
  if (shared.kernels.spec.normMode !== 0) {
    for (const group of dense.keys()) group.encodeSumSquares(pass);
    staging?.encodeSumSquares(pass);
    shared.encodeClipNorms(pass);
  }
  for (const group of dense.keys()) group.encodeUpdate(pass);
  for (const group of sparseGroups.keys()) group.encodeSparse(pass);
  pass.end();
}

/**
 * Waits for the validation scope pushed before the step's writes: rejects if the device was lost
 * (DeviceLostError) or the GPU rejected the command buffer, in which case nothing was updated.
 */
export async function stepOutcome(device: GPUDevice, label: string): Promise<void> {
  const error = await device.popErrorScope();
  assertDeviceAlive(device, label);
  if (error) throw new Error(`${label}: the GPU rejected the step: ${error.message}`);
}
