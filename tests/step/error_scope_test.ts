// A failed step leaves no error scope on the caller's device: the step pushes a validation scope
// of its own before it writes and encodes, and pops it on every path. Otherwise a leaked scope
// would swallow the caller's own validation errors from then on.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Adagrad, VariableStore } from "../../mod.ts";
import { submitStep } from "../../src/optimizers/adagrad_base.ts";
import { MAP_READ, STORAGE } from "../../src/_common/usage.ts";
import { requestDevice } from "../_gpu.ts";

/** The ways a step can fail, each after the optimizer has made its GPU state. */
const FAILURES: Record<
  string,
  (opt: Adagrad, w: import("../../mod.ts").Variable) => Promise<unknown>
> = {
  "bad input (refused before the scope)": (opt, w) =>
    opt.applyGradients([[new Float32Array(w.length + 1), w]]),
  "a hook throws before the step is encoded": (opt, w) =>
    submitStep(opt, [[new Float32Array(w.length).fill(0.5), w]], {
      hooks: {
        before: () => {
          throw new Error("a hook throws before the step is encoded");
        },
        after: () => {},
      },
    }),
  "a hook throws after the step is encoded": (opt, w) =>
    submitStep(opt, [[new Float32Array(w.length).fill(0.5), w]], {
      hooks: {
        before: () => {},
        after: () => {
          throw new Error("a hook throws after the step is encoded");
        },
      },
    }),
};

for (const [name, fail] of Object.entries(FAILURES)) {
  test(`a failed step (${name}) leaves the caller's error scopes as they were`, async () => {
    const device = await requestDevice();
    try {
      const store = new VariableStore(device);
      const w = store.variable("w", [37], new Float32Array(37).map((_, i) => Math.sin(i)));
      const opt = new Adagrad({ learningRate: 0.1 });
      await opt.applyGradients([[new Float32Array(37).fill(0.25), w]]);
      const before = await w.read();

      device.pushErrorScope("validation");
      // The failure is the one named, not another refusal on the way.
      const reason = name.startsWith("bad input") ? /elements, expected/ : new RegExp(name);
      await assert.rejects(async () => await fail(opt, w), { message: reason });
      // The caller's own mistake: MAP_READ cannot go with STORAGE.
      const bad = device.createBuffer({ size: 16, usage: MAP_READ | STORAGE });
      const error = await device.popErrorScope();
      bad.destroy();
      assert.ok(error, "the caller's scope saw the caller's validation error");
      // Nothing else is left on the stack: popping an empty stack rejects.
      await assert.rejects(device.popErrorScope(), "a scope was left on the device");

      assert.equal(opt.iterations, 1, "the failed step is not counted");
      assert.deepEqual(await w.read(), before, "the failed step changed nothing");
      opt.destroy();
      store.destroy();
    } finally {
      device.destroy();
    }
  });
}

test("a step the GPU rejects leaves the caller's error scopes as they were", async () => {
  const device = await requestDevice();
  try {
    const opt = new Adagrad({ learningRate: 0.1, device });
    const buffer = device.createBuffer({ size: 64, usage: STORAGE | 0x0008 | 0x0004 });
    await opt.applyGradients([[new Float32Array(16).fill(0.5), buffer]]);
    buffer.destroy(); // by its owner, behind the optimizer's back
    device.pushErrorScope("validation");
    await assert.rejects(opt.applyGradients([[new Float32Array(16).fill(0.5), buffer]]));
    const bad = device.createBuffer({ size: 16, usage: MAP_READ | STORAGE });
    const error = await device.popErrorScope();
    bad.destroy();
    assert.ok(error, "the caller's scope saw the caller's validation error");
    await assert.rejects(device.popErrorScope(), "a scope was left on the device");
    assert.equal(opt.iterations, 1);
    opt.destroy();
  } finally {
    device.destroy();
  }
});
