// One optimizer's step on the GPU: the stages, each made with what it needs, and the one place
// that knows their order. From resolved entries to a recorded command buffer:
//
//   gather     one loop over the entries: dense gradients into their home's gradient buffer
//              (uploads and copies; row-wise groups read them there too); IndexedSlices listed
//              for the sparse staging
//   number     the step's variables and their tiles' partial sums, once, dense groups first
//   tables     the sparse staging, tile tables, sparse tiles and norm clipping's variable table
//              (each written only when it changes)
//   one pass   float16 values widened; sort keys and sort; the non-finite check and the verdict
//              (`skipNonFinite`'s, or a dynamic loss scale's update); sums of squares and norms;
//              the dense updates, one dispatch per group; the sparse updates, one per group
//
// Dispatches depend on the number of groups (arenas and caller buffers), never on the number of
// variables, and nothing is allocated unless a step is larger than every step before.
import { Generation } from "../_kernels/cached_bind_group.ts";
import type { Kernels } from "../_kernels/kernels.ts";
import type { ReductionSource } from "../_kernels/reduction_source.ts";
import { checksFinite, Phase } from "../_kernels/specialisation.ts";
import { StepNumbering } from "../_kernels/tiles.ts";
import { type SparsePart, SparseStaging } from "../sparse/_staging.ts";
import { denseValues, sparsePart } from "./gradient_parts.ts";
import type { LossScaleState } from "./loss_scale_state.ts";
import { NonFiniteCheck } from "./non_finite_check.ts";
import { NormClipping } from "./norm_clipping.ts";
import { SkipNonFinite } from "./skip_non_finite.ts";
import type { GradSource } from "./plan.ts";
import type { GroupFactory, StepEntry } from "./slot_home.ts";
import type { StepHooks } from "./step_options.ts";
import { submitInScope } from "./submit.ts";
import { StepUniforms } from "./uniforms.ts";
import type { StepCall } from "./step_call.ts";
import {
  type GroupMember,
  type SparseMember,
  UpdateGroup,
  type UpdateInputs,
  type VariableTerms,
} from "./update_group.ts";
import { rowsOf, type Variant } from "./variant.ts";

/** Where a staged part's rows are updated: a group's member, holding rows `[firstRow, +rows)`. */
interface SparseTarget {
  group: UpdateGroup;
  member: GroupMember;
  firstRow: number;
  rows: number;
}

/**
 * A gradient that goes through the sparse staging buffers, staged once, with where it goes: one
 * target, or one per piece of a variable past one binding (its rows routed on the GPU).
 */
interface SparseStepMember {
  part: SparsePart;
  targets: SparseTarget[];
  /** The IndexedSlices the part was made from, so that its pieces share one staging. */
  source: GradSource;
  /** PyTorch's lag of the part's variable (its tiles' `lag`). */
  lag: number;
}

/** A dense group's members with a gradient this step, and what the rule says of each. */
interface DenseMember {
  index: number;
  terms: VariableTerms;
  /** Elements per row of the variable (piece). */
  width: number;
}

/** The step's gradients, sorted by where they go. */
interface Gathered {
  /** Dense groups and their members with a gradient this step. */
  dense: Map<UpdateGroup, DenseMember[]>;
  /** Dense groups whose member is the next piece of the variable before it. */
  continuing: Set<UpdateGroup>;
  sparse: SparseStepMember[];
}

/** The terms of a variable whose rule needs nothing per variable. */
const NO_TERMS: VariableTerms = { decay: 0, lag: 0 };

/** One step as the optimizer describes it. */
export interface StepRun {
  entries: readonly StepEntry[];
  /** The optimizer's name, for labels and messages. */
  name: string;
  /** The call: its learning rates, uniforms, accumulation phase and variables' terms. */
  call: StepCall;
  /** Skipped steps the optimizer already knows of (`skipNonFinite`). */
  skippedKnown: number;
  /** The gradients come from a LossScaleOptimizer's scaled loss. */
  scaled: boolean;
  hooks?: StepHooks;
  /** Hears of the GPU's skipped-step count, read in the background every few steps. */
  onSkipped(count: number): void;
}

export class StepPipeline {
  readonly kernels: Kernels;
  /** The CPU's per-step values, and the verdict. */
  readonly uniforms: StepUniforms;
  /** `skipNonFinite`'s verdict and skipped count, or null without it. */
  readonly skip: SkipNonFinite | null;
  readonly #generation = new Generation();
  readonly #norms: NormClipping;
  readonly #check: NonFiniteCheck | null;
  readonly #lossScale: LossScaleState | null;
  /** The optimizer's variant: how its groups apply dense gradients. */
  readonly #variant: Variant;
  #sparse: SparseStaging | null = null;

  constructor(
    kernels: Kernels,
    label: string,
    lossScale: LossScaleState | null,
    variant: Variant,
  ) {
    this.#variant = variant;
    this.kernels = kernels;
    this.uniforms = new StepUniforms(kernels.device, label);
    this.#norms = new NormClipping(kernels, this.#generation);
    this.#check = checksFinite(kernels.spec) ? new NonFiniteCheck(kernels, this.#generation) : null;
    this.skip = kernels.spec.skipNonFinite && this.#check
      ? new SkipNonFinite(kernels, this.#check.state, this.uniforms.verdict)
      : null;
    this.#lossScale = lossScale;
  }

  /** Makes the update group of a new slot home, bound to this step's buffers. */
  readonly newGroup: GroupFactory = (label) =>
    new UpdateGroup(this.kernels, this.#generation, label, this.#variant);

  /** The sparse staging, once a sparse step has made it. */
  get sparse(): SparseStaging | null {
    return this.#sparse;
  }

  /**
   * Writes the step's uniforms, records it with the wrapper's hooks around it, and submits it, in
   * an error scope of its own; the promise settles with the GPU's verdict (submit.ts).
   */
  submit(run: StepRun): Promise<void> {
    const device = this.kernels.device;
    const label = `${this.#variant.optimizerClass} '${run.name}'`;
    const outcome = submitInScope(device, label, () => {
      this.uniforms.writeParams(run.call.lrAt(0), run.call.values);
      this.#lossScale?.beginStep(device, this.uniforms, run.scaled);
      this.skip?.writeLearningRates(run.skippedKnown, run.call.lrAt);
      const encoder = device.createCommandEncoder({ label: `${run.name} step` });
      run.hooks?.before(encoder);
      this.#encode(encoder, run);
      run.hooks?.after(encoder);
      const read = this.skip?.maybeScheduleRead(encoder);
      device.queue.submit([encoder.finish()]);
      read?.().then(run.onSkipped, () => {});
    });
    // A bind group the GPU rejected would be rejected again from the cache: make them anew.
    return outcome.catch((e) => {
      this.#generation.advance();
      throw e;
    });
  }

  /** Records the whole step on `encoder` (copies, then one compute pass). */
  #encode(encoder: GPUCommandEncoder, run: StepRun): void {
    const variant = this.#variant;
    const label = run.name;
    const gathered = this.#gather(encoder, run);
    const numbering = new StepNumbering();
    for (const [group, members] of gathered.dense) {
      members.sort((a, b) => a.index - b.index);
      const ids = members.map((m) => m.index);
      const terms = members.map((m) => m.terms);
      const widths = members.map((m) => m.width);
      group.setParticipants(ids, numbering, terms, gathered.continuing.has(group), widths);
    }
    const sparseGroups = this.#stageSparse(encoder, gathered.sparse, numbering, variant);
    if (this.#norms.enabled) this.#norms.writeVariableTable(numbering);
    // Bind groups are made (or found current) while encoding, after every buffer has grown.
    const pass = encoder.beginComputePass({ label: `${label} update` });
    this.#encodePass(pass, [...gathered.dense.keys()], sparseGroups, run.call.accumulation);
    pass.end();
  }

  /** Stages dense gradients into their homes, and lists what goes through the sparse staging. */
  #gather(encoder: GPUCommandEncoder, run: StepRun): Gathered {
    const dense = new Map<UpdateGroup, DenseMember[]>();
    const continuing = new Set<UpdateGroup>();
    const sparse: SparseStepMember[] = [];
    for (const entry of run.entries) {
      const { home, index, grad, shape, piece } = entry;
      const group = home.group;
      const member = group.members[index];
      const terms = run.call.variableTerms?.(entry) ?? NO_TERMS;
      const firstRow = piece?.firstRow ?? 0;
      if (grad.kind === "sparse") {
        // The pieces of one variable share its IndexedSlices: staged and sorted once.
        const last = sparse.at(-1);
        const target = { group, member, firstRow, rows: piece ? shape[0] : grad.rows };
        if (piece?.continues && last?.source === grad) last.targets.push(target);
        else {
          sparse.push({
            part: sparsePart(grad),
            targets: [target],
            source: grad,
            lag: terms.lag,
          });
        }
        continue;
      }
      const values = denseValues(grad, home, index);
      if (grad.kind !== "in-place") {
        const to = home.gradientAt(index);
        if (ArrayBuffer.isView(values)) {
          const data = values as Uint16Array<ArrayBuffer>;
          this.kernels.device.queue.writeBuffer(to.buffer, to.offset, data);
        } else {
          encoder.copyBufferToBuffer(
            values.buffer,
            values.offset,
            to.buffer,
            to.offset,
            values.size,
          );
        }
      }
      if (piece?.continues) continuing.add(group);
      // The row kernel walks rows of the variable's width (row-wise groups).
      const width = rowsOf(shape).width;
      const members = dense.get(group);
      if (members) members.push({ index, terms, width });
      else dense.set(group, [{ index, terms, width }]);
    }
    return { dense, continuing, sparse };
  }

  /**
   * Stages the sparse gradients, numbers them after the dense ones, writes the value rows' tiles
   * (for the reduction passes) and each group's sparse tiles; returns the groups with sparse work.
   */
  #stageSparse(
    encoder: GPUCommandEncoder,
    sparse: readonly SparseStepMember[],
    numbering: StepNumbering,
    variant: Variant,
  ): UpdateGroup[] {
    if (sparse.length === 0) return [];
    const staging = this.#sparse ??= new SparseStaging(this.kernels, this.#generation);
    const staged = staging.stage(encoder, sparse.map((s) => s.part));
    const partialBase = numbering.partials;
    const ids = staged.map((s) => numbering.add(s.nnz * s.width));
    if (this.#norms.enabled || this.#check) staging.writeValueTiles(staged, ids, partialBase);
    const groups = new Map<UpdateGroup, SparseMember[]>();
    sparse.forEach(({ targets, lag }, k) => {
      for (const { group, member, firstRow, rows } of targets) {
        // A piece of a variable past one binding takes the rows it holds: keys of other rows
        // fall outside [row_base, row_base + rows) and the sparse kernels skip them.
        const s = staged[k];
        const window = firstRow !== 0 || rows !== s.rows;
        const routed = window ? { ...s, rowBase: s.rowBase + firstRow, rows } : s;
        const list = groups.get(group) ?? [];
        list.push({ member, id: ids[k], staged: routed, lag, window });
        groups.set(group, list);
      }
    });
    for (const [group, members] of groups) group.setSparse(members, variant);
    return [...groups.keys()];
  }

  /** Records the step's one compute pass, stage by stage. */
  #encodePass(
    pass: GPUComputePassEncoder,
    dense: readonly UpdateGroup[],
    sparseGroups: readonly UpdateGroup[],
    accumulation: StepCall["accumulation"],
  ): void {
    const { params, verdict, standIn } = this.uniforms;
    const inputs: UpdateInputs = { params, norms: this.#norms.norms, verdict, standIn };
    // Keras 3's gradient accumulation (dense gradients only): a call that only adds is one
    // dispatch per group; an update clipped by norm takes the norms of the mean, written first.
    if (accumulation === "add") {
      for (const group of dense) group.encodeUpdate(pass, inputs, Phase.add);
      return;
    }
    if (accumulation === "update" && this.#norms.enabled) {
      for (const group of dense) group.encodeUpdate(pass, inputs, Phase.mean, false);
      this.#norms.encode(pass, dense.map((g) => g.meanSource), { params, verdict });
      for (const group of dense) group.encodeUpdate(pass, inputs, Phase.apply);
      return;
    }
    const staging = sparseGroups.length > 0 ? this.#sparse : null;
    staging?.encodeWiden(pass);
    staging?.encodeSort(pass);
    const sources: ReductionSource[] = staging ? [...dense, staging] : [...dense];
    if (this.#check) {
      this.#check.encode(pass, sources);
      this.skip?.encode(pass);
      this.#lossScale?.encodeUpdate(pass, this.kernels, this.#check.state, verdict);
    }
    if (this.#norms.enabled) this.#norms.encode(pass, sources, { params, verdict });
    for (const group of dense) group.encodeUpdate(pass, inputs);
    if (!staging) return;
    for (const group of sparseGroups) group.encodeSparse(pass, inputs, staging);
  }

  destroy(): void {
    this.uniforms.destroy();
    this.#norms.destroy();
    this.#check?.destroy();
    this.skip?.destroy();
    this.#sparse?.destroy();
  }
}
