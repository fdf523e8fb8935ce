// Norm clipping (`clipnorm`, `global_clipnorm`) in two passes: pass 1 (sum_squares.wgsl) writes one
// partial sum of squares per reduction tile of every gradient source, numbered by the step
// (StepNumbering); pass 2 (clip_norms.wgsl, one workgroup) adds each variable's partials in a
// fixed order into the `Norms` the updates read. Without norm clipping only a minimal `Norms`
// exists, as every update binds one.
import { COPY_DST, STORAGE } from "../_common/usage.ts";
import { BindGroupCache, CachedBindGroup, type Generation } from "../_kernels/cached_bind_group.ts";
import { GrowingBuffer, GrowingTable } from "../_kernels/growing_buffer.ts";
import { type Kernels, SERIAL_PARTIALS } from "../_kernels/kernels.ts";
import type { ReductionSource } from "../_kernels/reduction_source.ts";
import { NORMS, VARIABLE_TABLE, VARIABLE_TILES } from "../_kernels/shader_interface.ts";
import { NormMode } from "../_kernels/specialisation.ts";
import { dispatch, type StepNumbering } from "../_kernels/tiles.ts";

/** What both passes read of the step: `Params` and the `Verdict` (a loss scale's factor). */
export interface ClipInputs {
  params: GPUBuffer;
  verdict: GPUBuffer;
}

export class NormClipping {
  /** Whether the optimizer clips by norm at all. */
  readonly enabled: boolean;
  readonly #kernels: Kernels;
  readonly #generation: Generation;
  /** `Norms`: the global scale or per-variable divisors. */
  readonly #norms: GrowingBuffer;
  /** One sum of squares per reduction tile. */
  readonly #partials: GrowingBuffer;
  /** `VariableTable`: each variable's first partial and count. */
  readonly #table: GrowingTable;
  #lastTable: Uint32Array | null = null;
  readonly #sumGroups = new BindGroupCache<ReductionSource>();
  readonly #normsGroup = new CachedBindGroup();

  constructor(kernels: Kernels, generation: Generation) {
    const device = kernels.device;
    this.enabled = kernels.spec.normMode !== NormMode.none;
    this.#kernels = kernels;
    this.#generation = generation;
    const buffer = (label: string) =>
      new GrowingBuffer(device, generation, `webgpu-adagrad ${label}`, STORAGE | COPY_DST);
    this.#norms = buffer("norms");
    this.#partials = buffer("partials");
    this.#table = new GrowingTable(
      device,
      generation,
      "webgpu-adagrad variable table",
      STORAGE | COPY_DST,
    );
    this.#norms.ensure(NORMS.bytes + 4);
  }

  /** The `Norms` buffer the updates bind (it grows with the number of variables). */
  get norms(): GPUBuffer {
    return this.#norms.buffer;
  }

  /**
   * Makes room for the step's partial sums and norms, then writes the variable table (for variable
   * k of the step, its first partial and its partial count; then the indices of the variables with
   * more than SERIAL_PARTIALS partials, which the workgroup adds up together), only when it changed.
   */
  writeVariableTable({ partials, firsts, counts }: StepNumbering): void {
    const n = firsts.length;
    this.#norms.ensure(NORMS.bytes + 4 * n);
    this.#partials.ensure(4 * partials);
    // Room for every variable twice: its entry, and its index in the list of large ones.
    if (this.#table.ensure(VARIABLE_TABLE.words + VARIABLE_TILES.words * 2 * n)) {
      this.#lastTable = null;
    }
    const words = this.#table.words;
    const entry = (k: number) => VARIABLE_TABLE.words + VARIABLE_TILES.words * k;
    let large = 0;
    for (let k = 0; k < n; k++) {
      words[entry(k) + VARIABLE_TILES.at.first] = firsts[k];
      words[entry(k) + VARIABLE_TILES.at.count] = counts[k];
      if (counts[k] <= SERIAL_PARTIALS) continue;
      words[entry(n + large) + VARIABLE_TILES.at.first] = k;
      words[entry(n + large) + VARIABLE_TILES.at.count] = 0;
      large++;
    }
    words[VARIABLE_TABLE.at.count] = n;
    words[VARIABLE_TABLE.at.large] = large;
    const used = entry(n + large);
    const last = this.#lastTable;
    if (last && last.length === used && last.every((x, i) => x === words[i])) return;
    this.#table.write(used);
    this.#lastTable = words.slice(0, used);
  }

  /** Records pass 1 over every source, then pass 2. */
  encode(
    pass: GPUComputePassEncoder,
    sources: readonly ReductionSource[],
    inputs: ClipInputs,
  ): void {
    const kernels = this.#kernels;
    const max = kernels.maxWorkgroupsPerDimension;
    for (const source of sources) {
      if (source.reduceCount === 0) continue;
      const group = this.#sumGroups.get(
        source,
        this.#generation,
        () =>
          kernels.bindGroup("sumSquares", `${source.label} sum of squares`, [
            inputs.params,
            source.reduceTiles,
            source.reduceData,
            this.#partials.buffer,
            inputs.verdict,
          ]),
      );
      const pipeline = kernels.sumSquares(source.layout, source.prepared);
      dispatch(pass, pipeline, group, source.reduceCount, max);
    }
    const norms = this.#normsGroup.get(
      this.#generation,
      () =>
        kernels.bindGroup("clipNorms", "webgpu-adagrad clip norms", [
          inputs.params,
          this.#table.buffer,
          this.#partials.buffer,
          this.#norms.buffer,
        ]),
    );
    dispatch(pass, kernels.clipNorms, norms, 1, 1);
  }

  destroy(): void {
    this.#norms.destroy();
    this.#partials.destroy();
    this.#table.destroy();
  }
}
