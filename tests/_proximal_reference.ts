// Float64 references of Adagrad's relatives, written from their kernels (reference
// adagrad_family.md, sections 4.2, 4.3 and 5.2): TensorFlow's ApplyProximalAdagrad and
// ApplyAdagradDA (and their sparse forms: duplicates summed first, listed rows only), and FBGEMM's
// EXACT_ROWWISE_ADAGRAD with its weight decay modes and max_norm.

/** One variable's state: the value and its slots (AdagradDA's two sums, or one accumulator). */
export interface FamilyState {
  value: Float64Array;
  /** ProximalAdagrad's accumulator, AdagradDA's squared-gradient sum, row-wise's row sums. */
  accum: Float64Array;
  /** AdagradDA's gradient sum (zeros for the others). */
  gradientSum: Float64Array;
}

export function familyState(init: Float32Array, slotLength: number, initial: number): FamilyState {
  return {
    value: Float64Array.from(init),
    accum: new Float64Array(slotLength).fill(Math.fround(initial)),
    gradientSum: new Float64Array(slotLength),
  };
}

/** The rows an IndexedSlices touches, each with its duplicates summed in float64. */
export function coalesce(
  indices: ArrayLike<number>,
  values: ArrayLike<number>,
  width: number,
): Map<number, Float64Array> {
  const rows = new Map<number, Float64Array>();
  for (let k = 0; k < indices.length; k++) {
    let row = rows.get(indices[k]);
    if (!row) rows.set(indices[k], row = new Float64Array(width));
    for (let c = 0; c < width; c++) row[c] += values[k * width + c];
  }
  return rows;
}

/** A dense gradient as rows of `width` (every row once). */
export function denseRows(grad: ArrayLike<number>, width: number): Map<number, Float64Array> {
  const rows = new Map<number, Float64Array>();
  for (let r = 0; r * width < grad.length; r++) {
    rows.set(r, Float64Array.from({ length: width }, (_, c) => grad[r * width + c]));
  }
  return rows;
}

export interface Strengths {
  lr: number;
  l1: number;
  l2: number;
}

/** ApplyProximalAdagrad on the listed rows. */
export function proximalStep(
  s: FamilyState,
  rows: Map<number, Float64Array>,
  width: number,
  { lr, l1, l2 }: Strengths,
): void {
  for (const [r, g] of rows) {
    for (let c = 0; c < width; c++) {
      const i = r * width + c;
      s.accum[i] += g[c] * g[c];
      const eta = lr / Math.sqrt(s.accum[i]);
      const prox = s.value[i] - g[c] * eta;
      s.value[i] = l1 > 0
        ? Math.sign(prox) * Math.max(Math.abs(prox) - eta * l1, 0) / (1 + l2 * eta)
        : prox / (1 + l2 * eta);
    }
  }
}

/** ApplyAdagradDA on the listed rows, at step `t` (global_step + 1). */
export function adagradDAStep(
  s: FamilyState,
  rows: Map<number, Float64Array>,
  width: number,
  { lr, l1, l2 }: Strengths,
  t: number,
): void {
  for (const [r, g] of rows) {
    for (let c = 0; c < width; c++) {
      const i = r * width + c;
      s.gradientSum[i] += g[c];
      s.accum[i] += g[c] * g[c];
      const ga = s.gradientSum[i];
      const denominator = l2 * t * lr + Math.sqrt(s.accum[i]);
      s.value[i] = l1 > 0
        ? -lr * Math.sign(ga) * Math.max(Math.abs(ga) - t * l1, 0) / denominator
        : -lr * ga / denominator;
    }
  }
}

export interface RowWiseSettings {
  lr: number;
  eps: number;
  weightDecay?: number;
  mode?: "l2" | "decoupled";
  maxNorm?: number;
}

/** FBGEMM's EXACT_ROWWISE_ADAGRAD on the listed rows (one accumulator per row). */
export function fbgemmRowWiseStep(
  s: FamilyState,
  rows: Map<number, Float64Array>,
  width: number,
  { lr, eps, weightDecay = 0, mode = "l2", maxNorm = 0 }: RowWiseSettings,
): void {
  for (const [r, g] of rows) {
    const w = s.value.subarray(r * width, (r + 1) * width);
    let squares = 0;
    for (let c = 0; c < width; c++) {
      const x = mode === "l2" ? g[c] + weightDecay * w[c] : g[c];
      squares += x * x;
    }
    s.accum[r] += squares / width;
    const multiplier = lr / (Math.sqrt(s.accum[r]) + eps);
    const correction = weightDecay === 0
      ? 1
      : mode === "l2"
      ? 1 - multiplier * weightDecay
      : 1 - lr * weightDecay;
    for (let c = 0; c < width; c++) w[c] = correction * w[c] - multiplier * g[c];
    if (maxNorm > 0) {
      const norm = Math.hypot(...w);
      if (norm > maxNorm) { for (let c = 0; c < width; c++) w[c] *= maxNorm / norm; }
    }
  }
}
