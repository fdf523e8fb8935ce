// Keras's schedule tests (learning_rate_schedule_test.py, TF 2.6), each also through
// serialize/deserialize, with Keras's tolerance of 1e-6.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CosineDecay,
  CosineDecayRestarts,
  deserializeSchedule,
  ExponentialDecay,
  InverseTimeDecay,
  type LearningRateSchedule,
  PiecewiseConstantDecay,
  PolynomialDecay,
  serializeSchedule,
} from "../../mod.ts";

import { assertAllClose } from "../_reference.ts";

/** Checks `schedule` and its serialize/deserialize round trip at every [step, expected]. */
function check(schedule: LearningRateSchedule, cases: [number, number][], what: string) {
  const copy = deserializeSchedule(JSON.parse(JSON.stringify(serializeSchedule(schedule))));
  for (const s of [schedule, copy]) {
    assertAllClose(cases.map(([step]) => s.call(step)), cases.map(([, e]) => e), what);
  }
}

test("ExponentialDecay: continuous and staircase", () => {
  check(new ExponentialDecay(0.05, 10, 0.96), [[5, 0.05 * 0.96 ** 0.5]], "continuous");
  check(
    new ExponentialDecay(0.1, 3, 0.96, true),
    [[1, 0.1], [2, 0.1], [100, 0.1 * 0.96 ** 33]],
    "staircase",
  );
});

test("PiecewiseConstantDecay: boundaries are exclusive on the left", () => {
  check(new PiecewiseConstantDecay([100, 110, 120], [1.0, 0.1, 0.01, 0.001]), [
    [-999, 1.0],
    [100, 1.0],
    [105, 0.1],
    [110, 0.1],
    [120, 0.01],
    [999, 0.001],
  ], "piecewise");
  check(new PiecewiseConstantDecay([1, 2, 3], [0.4, 0.5, 0.6, 0.7]), [
    [0, 0.4],
    [1, 0.4],
    [2, 0.5],
    [3, 0.6],
    [4, 0.7],
  ], "edges");
  assert.throws(
    () => new PiecewiseConstantDecay([1, 2], [1, 2]),
    /1 less than the length of values/,
  );
});

test("PolynomialDecay: linear, with end rate, power 0.5, cycle", () => {
  check(new PolynomialDecay(0.05, 10, 0.0), [[5, 0.025]], "end 0");
  check(new PolynomialDecay(0.05, 10, 0.001), [[10, 0.001], [5, 0.0255], [15, 0.001]], "end 0.001");
  check(
    new PolynomialDecay(0.05, 10, 0.001, 1.0, true),
    [[15, (0.05 - 0.001) * 0.25 + 0.001]],
    "cycle",
  );
  check(new PolynomialDecay(0.05, 10, 0.0, 0.5), [[5, 0.03535533905932738]], "power 0.5");
  check(new PolynomialDecay(0.05, 10, 0.001, 0.5), [[5, 0.03564823227814083]], "power 0.5 end");
  check(new PolynomialDecay(0.05, 10, 0.001, 0.5, true), [[15, 0.0255]], "power 0.5 cycle");
  check(new PolynomialDecay(0.001, 10, 0.0001, 1.0, true), [[0, 0.001]], "cycle at step 0");
});

test("InverseTimeDecay: steps 0..10, continuous and staircase", () => {
  const steps = Array.from({ length: 11 }, (_, i) => i);
  check(
    new InverseTimeDecay(0.1, 10, 0.96),
    steps.map((i) => [i, 0.1 / (1 + i / 10 * 0.96)]),
    "continuous",
  );
  check(
    new InverseTimeDecay(0.1, 10, 0.96, true),
    steps.map((i) => [i, i < 10 ? 0.1 : 0.05102040816326531]),
    "staircase",
  );
});

const COSINE_STEPS = [0, 250, 500, 750, 1000, 1250];

test("CosineDecay: with and without alpha", () => {
  const plain = [1.0, 0.8535533905932737, 0.5, 0.14644660940672627, 0.0, 0.0];
  const alpha = [1.0, 0.8681980515339464, 0.55, 0.23180194846605365, 0.1, 0.1];
  check(new CosineDecay(1.0, 1000), COSINE_STEPS.map((s, i) => [s, plain[i]]), "plain");
  check(new CosineDecay(1.0, 1000, 0.1), COSINE_STEPS.map((s, i) => [s, alpha[i]]), "alpha");
});

/** Keras's reference loop for SGDR. */
function sgdr(step: number, first: number, tMul: number, mMul: number, alpha: number) {
  let decaySteps = first;
  let fac = 1;
  while (step >= decaySteps) {
    step -= decaySteps;
    decaySteps *= tMul;
    fac *= mMul;
  }
  const completed = step / decaySteps;
  const decay = fac * 0.5 * (1 + Math.cos(Math.PI * completed));
  return (1 - alpha) * decay + alpha;
}

test("CosineDecayRestarts: default, alpha, m_mul, t_mul = 1, across restarts", () => {
  for (const [tMul, mMul, alpha] of [[2, 1, 0], [2, 1, 0.1], [2, 0.9, 0], [1, 1, 0]]) {
    const s = new CosineDecayRestarts(1.0, 1000, tMul, mMul, alpha);
    const steps = [...COSINE_STEPS, 2999, 3000, 3001, 7000, 15000];
    check(
      s,
      steps.map((step) => [step, sgdr(step, 1000, tMul, mMul, alpha)]),
      `t_mul ${tMul} m_mul ${mMul} alpha ${alpha}`,
    );
  }
  // Keras's literal values at step 1250.
  assertAllClose([new CosineDecayRestarts(1.0, 1000).call(1250)], [0.9619397662556434], "default");
  assertAllClose(
    [new CosineDecayRestarts(1.0, 1000, 2, 0.9).call(1250)],
    [0.8657457896300791],
    "m_mul",
  );
});

test("configs carry Keras's keys; bad arguments are refused", () => {
  assert.deepEqual(serializeSchedule(new ExponentialDecay(0.1, 100, 0.96, true, "lr")), {
    class_name: "ExponentialDecay",
    config: {
      initial_learning_rate: 0.1,
      decay_steps: 100,
      decay_rate: 0.96,
      staircase: true,
      name: "lr",
    },
  });
  assert.deepEqual(Object.keys(new CosineDecayRestarts(1, 10).getConfig()), [
    "initial_learning_rate",
    "first_decay_steps",
    "t_mul",
    "m_mul",
    "alpha",
    "name",
  ]);
  assert.throws(() => new ExponentialDecay(0.1, 0, 0.9), RangeError);
  assert.throws(() => new CosineDecay(NaN, 10), RangeError);
  assert.throws(() => new InverseTimeDecay("0.1" as never, 10, 0.5), TypeError);
  assert.throws(
    () => deserializeSchedule({ class_name: "WarmUp", config: {} }),
    /unknown learning rate schedule/,
  );
});
