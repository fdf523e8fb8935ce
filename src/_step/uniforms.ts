// The two small buffers every update reads: `Params` (lr_t, epsilon, the clipping thresholds,
// Keras 3's counters, the call's step and the rule's own arguments), written by the CPU each
// step, and the `Verdict` (whether the step runs, its learning rate, a loss scale's factor),
// written by the non-finite stages or, for a fixed loss scale, the CPU. Made once and never
// replaced, so bind groups holding them never go stale on their account.
import { COPY_DST, STORAGE, UNIFORM } from "../_common/usage.ts";
import { PARAMS, VERDICT } from "../_kernels/shader_interface.ts";

/** A rule's own arguments, `Params.arg0`-`arg3` (each rule's WGSL file names them). */
export type RuleArgs = readonly [number, number, number, number];

/** No arguments: the rules that take none. */
export const NO_ARGS: RuleArgs = [0, 0, 0, 0];

/** The step's values in `Params`. */
export interface StepValues {
  epsilon: number;
  /** Keras `clipvalue`, 0 for none. */
  clipValue: number;
  /** Keras `clipnorm` or `global_clipnorm`, 0 for none. */
  clipNorm: number;
  /** Keras 3's gradient accumulation and moving average (the dense update's, around any rule). */
  accumulationSteps?: number;
  emaMomentum?: number;
  emaOverwrite?: boolean;
  /** This call's number among the optimizer's steps (1 for the first), for rules that count. */
  step?: number;
  /** The rule's own arguments (absent: zeros). */
  args?: RuleArgs;
}

/** The unscaling factor's place in the verdict, for a fixed scale's CPU writes. */
const UNSCALE_OFFSET = 4 * VERDICT.at.unscale;

export class StepUniforms {
  /** `Params`, written every step. */
  readonly params: GPUBuffer;
  /**
   * `Verdict`: written by the non-finite check's `finalize` or a dynamic loss scale's update, and
   * by the CPU for a fixed scale's factor.
   */
  readonly verdict: GPUBuffer;
  /**
   * Bound in place of the slots a rule does not have (Keras 3's averages and gradient sums), as
   * two disjoint halves: a kernel specialised without them never touches it.
   */
  readonly standIn: GPUBuffer;
  readonly #queue: GPUQueue;
  readonly #paramsData = new Float32Array(PARAMS.words);
  /** The u32 fields of `Params`, over the same words. */
  readonly #paramsWords = new Uint32Array(this.#paramsData.buffer);
  #unscale = Number.NaN;

  constructor(device: GPUDevice, label: string) {
    const make = (name: string, size: number, usage: number) =>
      device.createBuffer({ label: `${label} ${name}`, size, usage });
    this.#queue = device.queue;
    this.params = make("params", PARAMS.bytes, UNIFORM | COPY_DST);
    this.verdict = make("verdict", VERDICT.bytes, STORAGE | COPY_DST);
    this.standIn = make("stand-in slots", 512, STORAGE);
  }

  /** This step's `Params`. */
  writeParams(lr: number, values: StepValues): void {
    const d = this.#paramsData;
    d[PARAMS.at.lr] = lr;
    d[PARAMS.at.epsilon] = values.epsilon;
    d[PARAMS.at.clip_value] = values.clipValue;
    d[PARAMS.at.clip_norm] = values.clipNorm;
    d[PARAMS.at.accumulation_steps] = values.accumulationSteps ?? 1;
    d[PARAMS.at.ema_momentum] = values.emaMomentum ?? 0;
    const args = values.args ?? NO_ARGS;
    for (let i = 0; i < 4; i++) d[PARAMS.at.arg0 + i] = args[i];
    const w = this.#paramsWords;
    w[PARAMS.at.ema_overwrite] = values.emaOverwrite ? 1 : 0;
    w[PARAMS.at.step] = values.step ?? 1;
    this.#queue.writeBuffer(this.params, 0, d);
  }

  /** A fixed loss scale's factor for this step's gradients, written when it changes. */
  writeUnscale(unscale: number): void {
    if (unscale === this.#unscale) return;
    this.#unscale = unscale;
    this.#queue.writeBuffer(this.verdict, UNSCALE_OFFSET, new Float32Array([unscale]));
  }

  destroy(): void {
    this.params.destroy();
    this.verdict.destroy();
    this.standIn.destroy();
  }
}
