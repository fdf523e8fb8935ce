// The buffers a step's stages share, with one owner: the per-step uniform, the guard's verdict
// and learning-rate table, the norms and the partial sums of norm clipping, and the staging of
// sparse gradients. Buffers grow (doubling) only when a step needs more than any step before;
// whenever one is replaced, `generation` moves on and every cached bind group is rebuilt.
import { type Kernels, LR_WINDOW, SERIAL_PARTIALS } from "../_kernels/kernels.ts";
import {
  LR_TABLE,
  NORMS,
  PARAMS,
  VARIABLE_TABLE,
  VARIABLE_TILES,
  VERDICT,
} from "../_kernels/shader_interface.ts";
import type { ResolvedOptions } from "../optimizers/adagrad_config.ts";
import { CachedBindGroup } from "../_kernels/cached_bind_group.ts";
import { GuardState } from "./guard.ts";
import { type LossScaleState, UNSCALE_OFFSET } from "./loss_scale_state.ts";
import { SparseBuffers } from "../sparse/_staging.ts";
import { dispatch } from "../_kernels/tiles.ts";
import { COPY_DST, STORAGE, UNIFORM } from "../_common/usage.ts";

export class StepBuffers {
  readonly device: GPUDevice;
  readonly kernels: Kernels;
  /** Moves on whenever a buffer that a bind group may hold is replaced, anywhere in the step. */
  generation = 0;
  /** `Params`: lr_t, epsilon, clip_value, clip_norm; written every step. */
  readonly params: GPUBuffer;
  /**
   * `Verdict`: written by the guard's finalize (with `skipNonFinite`) or a dynamic loss scale's
   * update, and by the CPU for a fixed scale's factor; read by the updates.
   */
  readonly verdict: GPUBuffer;
  /** `LrTable`: the learning rates the guard picks from (with `skipNonFinite`). */
  readonly lrTable: GPUBuffer | null;
  /** The finiteness check's state (with `skipNonFinite`, or a dynamic loss scale). */
  readonly guard: GuardState | null;
  /** A LossScaleOptimizer's state, when one wraps the optimizer (it owns the state). */
  readonly lossScale: LossScaleState | null;
  /** `Norms`: the global scale or per-variable divisors (a minimal one without norm clipping). */
  norms!: GPUBuffer;
  /** Norm clipping: one sum of squares per tile. */
  partials: GPUBuffer | null = null;
  /** Norm clipping: `VariableTable`, each variable's first partial and count. */
  variableTable: GPUBuffer | null = null;
  readonly #paramsData = new Float32Array(PARAMS.words);
  readonly #lrWords = new Uint32Array(LR_TABLE.words + LR_WINDOW);
  readonly #lr = new Float32Array(this.#lrWords.buffer, LR_TABLE.bytes, LR_WINDOW);
  #sparse: SparseBuffers | null = null;
  #tiles = 0;
  #variables = 0;
  #tableWords = new Uint32Array(0);
  #lastTable: Uint32Array | null = null;
  #unscale = Number.NaN;
  readonly #clipNormsGroup = new CachedBindGroup();

  constructor(
    device: GPUDevice,
    kernels: Kernels,
    label: string,
    lossScale: LossScaleState | null = null,
  ) {
    this.device = device;
    this.kernels = kernels;
    const make = (name: string, size: number, usage: number) =>
      device.createBuffer({ label: `${label} ${name}`, size, usage });
    this.params = make("params", PARAMS.bytes, UNIFORM | COPY_DST);
    this.verdict = make("verdict", VERDICT.bytes, STORAGE | COPY_DST);
    this.lrTable = kernels.spec.guard
      ? make("learning rates", this.#lrWords.byteLength, STORAGE | COPY_DST)
      : null;
    this.guard = kernels.spec.guard || kernels.spec.lossScale === 2 ? new GuardState(this) : null;
    this.lossScale = lossScale;
    this.#growNorms(1, 1);
  }

  /** With `skipNonFinite`: the guard, whose verdict also picks the learning rate. */
  get skipGuard(): GuardState | null {
    return this.kernels.spec.guard ? this.guard : null;
  }

  /** A fixed loss scale's factor for this step's gradients, written when it changes. */
  writeUnscale(unscale: number): void {
    if (unscale === this.#unscale) return;
    this.#unscale = unscale;
    this.device.queue.writeBuffer(this.verdict, UNSCALE_OFFSET, new Float32Array([unscale]));
  }

  /** Marks every cached bind group stale. */
  invalidate(): void {
    this.generation++;
  }

  /** The sparse staging buffers, made on the first sparse step. */
  get sparse(): SparseBuffers {
    return this.#sparse ??= new SparseBuffers(this);
  }

  /** Whether a sparse step has made the staging buffers. */
  get hasSparse(): boolean {
    return this.#sparse !== null;
  }

  /** This step's `Params`: lr_t, and the options' epsilon and clipping thresholds. */
  writeParams(lr: number, o: ResolvedOptions): void {
    const d = this.#paramsData;
    d[PARAMS.at.lr] = lr;
    d[PARAMS.at.epsilon] = o.epsilon;
    d[PARAMS.at.clip_value] = o.clipvalue ?? 0;
    d[PARAMS.at.clip_norm] = o.clipnorm ?? o.globalClipnorm ?? 0;
    this.device.queue.writeBuffer(this.params, 0, d);
  }

  /** The guard's table: lr_t if the GPU skipped j more steps than `known`, for each j. */
  writeLearningRates(known: number, lrAt: (j: number) => number): void {
    const words = this.#lrWords;
    words[LR_TABLE.at.known] = known;
    for (let j = 0; j < LR_WINDOW; j++) this.#lr[j] = lrAt(j);
    this.device.queue.writeBuffer(this.lrTable!, 0, words);
  }

  /**
   * Norm clipping: makes room for the step's partial sums, then writes the variable table (for
   * variable k of the step, its first partial and its tile count; then the indices of the
   * variables with more than SERIAL_PARTIALS partials, which the workgroup adds up together),
   * only when it changed.
   */
  writeVariableTable(partials: number, firsts: readonly number[], counts: readonly number[]): void {
    const n = firsts.length;
    this.#growNorms(partials, n);
    const words = this.#tableWords;
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
    this.device.queue.writeBuffer(this.variableTable!, 0, words, 0, used);
    this.#lastTable = words.slice(0, used);
  }

  /** Records norm clipping's pass 2: the norms from the partial sums (one workgroup). */
  encodeClipNorms(pass: GPUComputePassEncoder): void {
    const group = this.#clipNormsGroup.get(
      this,
      () =>
        this.kernels.bindGroup("clipNorms", "webgpu-adagrad clip norms", [
          this.params,
          this.variableTable!,
          this.partials!,
          this.norms,
        ]),
    );
    dispatch(pass, this.kernels.clipNorms, group, 1, 1);
  }

  #growNorms(tiles: number, variables: number): void {
    const clipping = this.kernels.spec.normMode !== 0;
    if (tiles <= this.#tiles && variables <= this.#variables) return;
    const t = Math.max(tiles, 2 * this.#tiles);
    const v = Math.max(variables, 2 * this.#variables);
    const make = (label: string, size: number) =>
      this.device.createBuffer({
        label: `webgpu-adagrad ${label}`,
        size,
        usage: STORAGE | COPY_DST,
      });
    this.norms?.destroy();
    this.norms = make("norms", NORMS.bytes + 4 * v);
    if (clipping) {
      this.partials?.destroy();
      this.variableTable?.destroy();
      this.partials = make("partials", 4 * t);
      // Room for every variable twice: its entry, and its index in the list of large ones.
      this.#tableWords = new Uint32Array(VARIABLE_TABLE.words + VARIABLE_TILES.words * 2 * v);
      this.variableTable = make("variable table", this.#tableWords.byteLength);
      this.#lastTable = null;
    }
    this.#tiles = t;
    this.#variables = v;
    this.invalidate();
  }

  destroy(): void {
    for (const b of [this.params, this.verdict, this.lrTable, this.norms, this.partials]) {
      b?.destroy();
    }
    this.variableTable?.destroy();
    this.guard?.destroy();
    this.#sparse?.destroy();
  }
}
