// The float64 CPU reference and the helpers to compare with it.
import assert from "node:assert/strict";

/** Seeded PRNG (mulberry32), so a failure can be reproduced. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` random float32 values with magnitudes in [lo, hi] and random signs: never zero. */
export function randomValues(
  random: () => number,
  n: number,
  lo = 0.05,
  hi = 2,
): Float32Array<ArrayBuffer> {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const m = lo + (hi - lo) * random();
    out[i] = random() < 0.5 ? -m : m;
  }
  return out;
}

/** A variable's state in float64. */
export interface RefState {
  value: Float64Array;
  accum: Float64Array;
}

/** A fresh float64 state from float32 initial values. */
export function refState(init: Float32Array, initialAccumulator: number): RefState {
  return {
    value: Float64Array.from(init),
    accum: new Float64Array(init.length).fill(Math.fround(initialAccumulator)),
  };
}

/**
 * One Keras 2.x Adagrad step in float64 (keras adagrad_test.py's `adagrad_update_numpy`):
 * `accum += g*g; var -= lr * g / (sqrt(accum) + eps)`.
 */
export function refStep(state: RefState, grad: ArrayLike<number>, lr: number, eps: number): void {
  for (let i = 0; i < state.value.length; i++) {
    const g = grad[i];
    state.accum[i] += g * g;
    state.value[i] -= lr * g / (Math.sqrt(state.accum[i]) + eps);
  }
}

/** ||actual - expected|| / ||expected||. */
export function relativeL2(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length, "length");
  let num = 0;
  let den = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = actual[i] - expected[i];
    num += d * d;
    den += expected[i] * expected[i];
  }
  return Math.sqrt(num) / Math.sqrt(den);
}

/** Asserts the relative L2 error is at most `tol`, and that every value is finite. */
export function assertCloseL2(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: number,
  what: string,
): void {
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Number.isFinite(actual[i]), `${what}: element ${i} is ${actual[i]}`);
  }
  const err = relativeL2(actual, expected);
  assert.ok(err <= tol, `${what}: relative L2 error ${err.toExponential(3)} > ${tol}`);
}

/** Asserts |a - e| <= atol + rtol * |e| elementwise (TF's assertAllClose). */
export function assertAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  what: string,
  rtol = 1e-6,
  atol = 1e-6,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const tol = atol + rtol * Math.abs(expected[i]);
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tol,
      `${what}[${i}]: ${actual[i]} vs expected ${expected[i]} (tolerance ${tol})`,
    );
  }
}

/** Keras's clipping options. */
export interface Clip {
  clipvalue?: number;
  clipnorm?: number;
  globalClipnorm?: number;
}

/** Keras's clipping in float64, in Keras's order, over one step's gradients. */
export function refClip(grads: Float64Array[], clip: Clip): Float64Array[] {
  let out = grads.map((g) => Float64Array.from(g));
  const { clipvalue: v, clipnorm: c, globalClipnorm: gc } = clip;
  if (v !== undefined) out = out.map((g) => g.map((x) => Math.min(Math.max(x, -v), v)));
  const sq = (g: Float64Array) => g.reduce((s, x) => s + x * x, 0);
  if (c !== undefined) {
    out = out.map((g) => {
      const norm = Math.sqrt(sq(g));
      return g.map((x) => x * c / Math.max(norm, c));
    });
  }
  if (gc !== undefined) {
    const norm = Math.sqrt(out.reduce((s, g) => s + sq(g), 0));
    const scale = Number.isFinite(norm) ? gc * Math.min(1 / norm, 1 / gc) : NaN;
    out = out.map((g) => g.map((x) => x * scale));
  }
  return out;
}

/**
 * One Keras sparse Adagrad step in float64 (keras adagrad_test.py's
 * `sparse_adagrad_update_numpy`, with Keras's dedup): the value rows of each index are summed
 * (already clipped), then each touched row is updated once. Indices outside the variable are
 * skipped, as TensorFlow's GPU kernel does.
 */
export function refSparseStep(
  state: RefState,
  width: number,
  indices: ArrayLike<number>,
  values: ArrayLike<number>,
  lr: number,
  eps: number,
): void {
  const rows = state.value.length / width;
  const sums = new Map<number, Float64Array>();
  for (let i = 0; i < indices.length; i++) {
    const row = indices[i];
    if (row < 0 || row >= rows) continue;
    let sum = sums.get(row);
    if (!sum) sums.set(row, sum = new Float64Array(width));
    for (let c = 0; c < width; c++) sum[c] += values[i * width + c];
  }
  for (const [row, g] of sums) {
    for (let c = 0; c < width; c++) {
      const k = row * width + c;
      state.accum[k] += g[c] * g[c];
      state.value[k] -= lr * g[c] / (Math.sqrt(state.accum[k]) + eps);
    }
  }
}

/**
 * One row-wise Adagrad step in float64 (FBGEMM's EXACT_ROWWISE_ADAGRAD): per touched row, the
 * duplicates summed (already clipped), `m += mean(g^2)`, `var -= lr / (sqrt(m) + eps) * g`.
 * `indices` null: a dense gradient, every row once. `state.accum` holds one value per row.
 */
export function refRowWiseStep(
  state: RefState,
  width: number,
  indices: ArrayLike<number> | null,
  values: ArrayLike<number>,
  lr: number,
  eps: number,
): void {
  const rows = state.accum.length;
  const sums = new Map<number, Float64Array>();
  const n = indices ? indices.length : rows;
  for (let i = 0; i < n; i++) {
    const row = indices ? indices[i] : i;
    if (row < 0 || row >= rows) continue;
    let sum = sums.get(row);
    if (!sum) sums.set(row, sum = new Float64Array(width));
    for (let c = 0; c < width; c++) sum[c] += values[i * width + c];
  }
  for (const [row, g] of sums) {
    state.accum[row] += g.reduce((s, x) => s + x * x, 0) / width;
    const multiplier = lr / (Math.sqrt(state.accum[row]) + eps);
    for (let c = 0; c < width; c++) state.value[row * width + c] -= multiplier * g[c];
  }
}

/** `nnz` indices in [0, rows): half drawn from a pool of `pool` rows (many repeats), half anywhere. */
export function randomIndices(
  random: () => number,
  nnz: number,
  rows: number,
  pool: number,
): Int32Array {
  const hot = Array.from({ length: pool }, () => Math.floor(random() * rows));
  return Int32Array.from(
    { length: nnz },
    () => random() < 0.5 ? hot[Math.floor(random() * pool)] : Math.floor(random() * rows),
  );
}
