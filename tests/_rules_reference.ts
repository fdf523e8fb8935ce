// Float64 references of the other frameworks' Adagrad, written from their sources (reference
// adagrad_family.md, sections 2 and 3): Keras 3's BaseOptimizer.apply with Adagrad.update_step,
// and PyTorch's _single_tensor_adagrad. The GPU's float32 results are compared with these.
import { type Clip, refClip } from "./_reference.ts";

/** One variable's state under Keras 3's rule. */
export interface Keras3State {
  value: Float64Array;
  accum: Float64Array;
  average: Float64Array;
  gradientSum: Float64Array;
}

/** Keras 3's options, as the reference takes them (constants float32-rounded by the caller). */
export interface Keras3Settings {
  /** The learning rate at a raw call count (the schedule, or a constant). */
  lr(calls: number): number;
  epsilon: number;
  initial: number;
  weightDecay?: number;
  clip: Clip;
  useEma?: boolean;
  emaMomentum?: number;
  emaOverwriteFrequency?: number;
  lossScaleFactor?: number;
  gradientAccumulationSteps?: number;
}

/** A fresh state from float32 initial values. */
export function keras3State(init: Float32Array, initial: number): Keras3State {
  const n = init.length;
  return {
    value: Float64Array.from(init),
    accum: new Float64Array(n).fill(Math.fround(initial)),
    average: new Float64Array(n),
    gradientSum: new Float64Array(n),
  };
}

/**
 * Keras 3's optimizer: its calls, and one call over dense gradients (`decay`: whether weight
 * decay applies to the variable, false for those excluded).
 */
export class Keras3Reference {
  calls = 0;
  readonly #s: Keras3Settings;

  constructor(settings: Keras3Settings) {
    this.#s = settings;
  }

  /** `optimizer.iterations`: the updates so far. */
  get iterations(): number {
    return Math.floor(this.calls / (this.#s.gradientAccumulationSteps ?? 1));
  }

  apply(entries: { state: Keras3State; grad: ArrayLike<number>; decay: boolean }[]): void {
    const s = this.#s;
    const raw = this.calls;
    const iterations = this.iterations;
    const lsf = s.lossScaleFactor ?? 1;
    let grads = entries.map((e) => Float64Array.from(e.grad, (g) => g / lsf));
    const steps = s.gradientAccumulationSteps;
    const update = steps === undefined || (raw + 1) % steps === 0;
    if (steps !== undefined) {
      if (update) {
        grads = grads.map((g, k) => g.map((x, i) => (x + entries[k].state.gradientSum[i]) / steps));
        for (const e of entries) e.state.gradientSum.fill(0);
      } else {
        entries.forEach((e, k) => grads[k].forEach((x, i) => e.state.gradientSum[i] += x));
      }
    }
    if (update) {
      const clipped = refClip(grads, s.clip);
      const lr = s.lr(raw);
      entries.forEach(({ state, decay }, k) => {
        const g = clipped[k];
        for (let i = 0; i < g.length; i++) {
          if (s.weightDecay !== undefined && decay) {
            state.value[i] -= state.value[i] * s.weightDecay * lr;
          }
          state.accum[i] += g[i] * g[i];
          state.value[i] -= lr * g[i] / Math.sqrt(state.accum[i] + s.epsilon);
        }
      });
    }
    if (s.useEma) {
      const m = iterations === 0 ? 0 : s.emaMomentum ?? 0.99;
      const f = s.emaOverwriteFrequency;
      const overwrite = f !== undefined && (iterations + 1) % f === 0;
      for (const { state } of entries) {
        for (let i = 0; i < state.value.length; i++) {
          state.average[i] = m * state.average[i] + (1 - m) * state.value[i];
          if (overwrite) state.value[i] = state.average[i];
        }
      }
    }
    this.calls++;
  }
}

/** One variable's state under PyTorch's rule. */
export interface TorchState {
  value: Float64Array;
  sum: Float64Array;
  step: number;
}

/** PyTorch's options (constants float32-rounded by the caller). */
export interface TorchSettings {
  lr: number;
  lrDecay: number;
  weightDecay: number;
  eps: number;
  maximize: boolean;
}

export function torchState(init: Float32Array, initial: number): TorchState {
  return {
    value: Float64Array.from(init),
    sum: new Float64Array(init.length).fill(Math.fround(initial)),
    step: 0,
  };
}

/** One element of _single_tensor_adagrad. */
function torchElement(state: TorchState, i: number, g: number, clr: number, s: TorchSettings) {
  state.sum[i] += g * g;
  state.value[i] -= clr * g / (Math.sqrt(state.sum[i]) + s.eps);
}

/** PyTorch's step for one parameter with a dense gradient. */
export function torchStep(state: TorchState, grad: ArrayLike<number>, s: TorchSettings): void {
  state.step++;
  const clr = s.lr / (1 + (state.step - 1) * s.lrDecay);
  for (let i = 0; i < state.value.length; i++) {
    let g = s.maximize ? -grad[i] : grad[i];
    if (s.weightDecay !== 0) g += s.weightDecay * state.value[i];
    torchElement(state, i, g, clr, s);
  }
}

/** PyTorch's step for a sparse gradient: coalesced (duplicates summed), touched rows only. */
export function torchSparseStep(
  state: TorchState,
  width: number,
  indices: ArrayLike<number>,
  values: ArrayLike<number>,
  s: TorchSettings,
): void {
  state.step++;
  const clr = s.lr / (1 + (state.step - 1) * s.lrDecay);
  const rows = new Map<number, Float64Array>();
  for (let k = 0; k < indices.length; k++) {
    let row = rows.get(indices[k]);
    if (!row) rows.set(indices[k], row = new Float64Array(width));
    for (let c = 0; c < width; c++) {
      row[c] += s.maximize ? -values[k * width + c] : values[k * width + c];
    }
  }
  for (const [r, g] of rows) {
    for (let c = 0; c < width; c++) torchElement(state, r * width + c, g[c], clr, s);
  }
}
