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
