// The plain-JavaScript CPU contender: Keras's Adagrad (epsilon outside the square root, as the
// package's default) in float32, single-threaded, on Float32Arrays, with no WebGPU at all. Every
// intermediate is rounded to float32 (Math.fround), as the GPU computes it. What a careful user
// would write without this package; the benchmark times it like every other contender.

const f = Math.fround;

/** Keras `clipnorm` (per variable) or `global_clipnorm`, as the benchmark's cases use them. */
export interface JsClip {
  clipnorm?: number;
  globalClipnorm?: number;
}

/** A dense step over variables of `sizes`: gradients given, updated in place. */
export class JsDenseAdagrad {
  readonly variables: Float32Array[];
  readonly accumulators: Float32Array[];
  readonly gradients: Float32Array[];
  readonly #lr: number;
  readonly #epsilon: number;
  readonly #clip: JsClip;

  constructor(
    variables: Float32Array[],
    gradients: Float32Array[],
    { learningRate = 0.01, epsilon = 1e-7, initialAccumulatorValue = 0.1, ...clip }: {
      learningRate?: number;
      epsilon?: number;
      initialAccumulatorValue?: number;
    } & JsClip = {},
  ) {
    this.variables = variables;
    this.gradients = gradients;
    this.accumulators = variables.map((v) =>
      new Float32Array(v.length).fill(initialAccumulatorValue)
    );
    this.#lr = f(learningRate);
    this.#epsilon = f(epsilon);
    this.#clip = clip;
  }

  step(): void {
    const { clipnorm, globalClipnorm } = this.#clip;
    let globalScale = 1;
    if (globalClipnorm !== undefined) {
      // tf.clip_by_global_norm: clip_norm * min(1 / ||all||, 1 / clip_norm).
      let sum = 0;
      for (const g of this.gradients) sum += sumSquares(g);
      globalScale = f(globalClipnorm * Math.min(1 / f(Math.sqrt(sum)), 1 / globalClipnorm));
    }
    for (let k = 0; k < this.variables.length; k++) {
      const g = this.gradients[k];
      if (clipnorm !== undefined) {
        // tf.clip_by_norm: g * clip_norm / max(||g||, clip_norm).
        const divisor = f(Math.max(f(Math.sqrt(sumSquares(g))), clipnorm));
        denseScaled(
          this.variables[k],
          this.accumulators[k],
          g,
          f(clipnorm),
          divisor,
          this.#lr,
          this.#epsilon,
        );
      } else if (globalClipnorm !== undefined) {
        denseScaled(
          this.variables[k],
          this.accumulators[k],
          g,
          globalScale,
          1,
          this.#lr,
          this.#epsilon,
        );
      } else {
        dense(this.variables[k], this.accumulators[k], g, this.#lr, this.#epsilon);
      }
    }
  }
}

function sumSquares(g: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < g.length; i++) sum = f(sum + f(g[i] * g[i]));
  return sum;
}

function dense(v: Float32Array, a: Float32Array, g: Float32Array, lr: number, eps: number) {
  for (let i = 0; i < v.length; i++) {
    const gi = g[i];
    const ai = f(a[i] + f(gi * gi));
    a[i] = ai;
    v[i] = f(v[i] - f(f(gi * lr) / f(f(Math.sqrt(ai)) + eps)));
  }
}

/** The dense update of the clipped gradient g * times / divisor. */
function denseScaled(
  v: Float32Array,
  a: Float32Array,
  g: Float32Array,
  times: number,
  divisor: number,
  lr: number,
  eps: number,
) {
  for (let i = 0; i < v.length; i++) {
    const gi = f(f(g[i] * times) / divisor);
    const ai = f(a[i] + f(gi * gi));
    a[i] = ai;
    v[i] = f(v[i] - f(f(gi * lr) / f(f(Math.sqrt(ai)) + eps)));
  }
}

/**
 * A sparse step (Keras's IndexedSlices path) on a rows x width table: each row's duplicate value
 * rows summed in the caller's order (a row's first occurrence takes a slot, later ones add to it,
 * as TensorFlow's unique + unsorted_segment_sum does), then each touched row updated once. O(nnz)
 * per step whatever the table's size: a row-to-slot map, reset at the touched rows only. Faster
 * here than sorting the keys (Float64Array.sort of row * nnz + position: ~1.3x slower at 1M
 * indices) or a counting sort (as fast, but it costs O(rows) per step). Indices out of range are
 * skipped, as TensorFlow's GPU kernel skips them.
 */
export class JsSparseAdagrad {
  readonly table: Float32Array;
  readonly accumulator: Float32Array;
  readonly #indices: Uint32Array;
  readonly #values: Float32Array;
  readonly #width: number;
  readonly #slotOf: Int32Array;
  readonly #rowOf: Uint32Array;
  readonly #sums: Float32Array;
  readonly #lr: number;
  readonly #epsilon: number;

  constructor(
    table: Float32Array,
    width: number,
    indices: Uint32Array,
    values: Float32Array,
    { learningRate = 0.01, epsilon = 1e-7, initialAccumulatorValue = 0.1 } = {},
  ) {
    this.table = table;
    this.accumulator = new Float32Array(table.length).fill(initialAccumulatorValue);
    this.#width = width;
    this.#indices = indices;
    this.#values = values;
    this.#slotOf = new Int32Array(table.length / width).fill(-1);
    this.#rowOf = new Uint32Array(indices.length);
    this.#sums = new Float32Array(indices.length * width);
    this.#lr = f(learningRate);
    this.#epsilon = f(epsilon);
  }

  /** Updates the touched rows; returns how many there were. */
  step(): number {
    const w = this.#width, indices = this.#indices, values = this.#values, sums = this.#sums;
    const slotOf = this.#slotOf, rowOf = this.#rowOf, rows = slotOf.length;
    const v = this.table, a = this.accumulator, lr = this.#lr, eps = this.#epsilon;
    let touched = 0;
    for (let i = 0; i < indices.length; i++) {
      const row = indices[i];
      if (row >= rows) continue;
      const from = i * w;
      let slot = slotOf[row];
      if (slot < 0) {
        slot = slotOf[row] = touched;
        rowOf[touched++] = row;
        sums.set(values.subarray(from, from + w), slot * w);
      } else {
        const to = slot * w;
        for (let c = 0; c < w; c++) sums[to + c] = f(sums[to + c] + values[from + c]);
      }
    }
    for (let slot = 0; slot < touched; slot++) {
      const row = rowOf[slot], base = row * w, from = slot * w;
      slotOf[row] = -1;
      for (let c = 0; c < w; c++) {
        const g = sums[from + c];
        const ai = f(a[base + c] + f(g * g));
        a[base + c] = ai;
        v[base + c] = f(v[base + c] - f(f(g * lr) / f(f(Math.sqrt(ai)) + eps)));
      }
    }
    return touched;
  }
}
