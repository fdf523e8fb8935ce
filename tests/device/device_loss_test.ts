// A lost device, refused with a clear error and no change of state: a step on a destroyed device
// rejects with DeviceLostError and is not counted (in the same tick too, and as a fresh
// optimizer's first step); every call says the device was lost, and training resumes from the
// last checkpoint on a new device with the numbers of an uninterrupted run (whose weights moved).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Adagrad,
  DeviceLostError,
  restoreCheckpoint,
  saveCheckpoint,
  VariableStore,
} from "../../mod.ts";
import { requestDevice, withDevice } from "../_gpu.ts";
import { smallModel } from "../_small_model.ts";
import { assertMoved } from "../_moved.ts";

/** A fixed gradient of `n` elements, different for each seed. */
const gradient = (n: number, seed: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(seed + 1.7 * i) / 2);

test("a lost device: every call says so; the last checkpoint resumes on a new device", async () => {
  const straight = await withDevice(async (device) => {
    const m = smallModel(device);
    for (let k = 0; k < 5; k++) await m.step(k);
    const out = [
      await m.w.read(),
      await m.b.read(),
      await m.opt.getSlot(m.w, "accumulator").read(),
    ];
    m.opt.destroy();
    m.store.destroy();
    return out;
  });

  const doomed = await requestDevice();
  const m = smallModel(doomed);
  for (let k = 0; k < 3; k++) await m.step(k);
  const checkpoint = await saveCheckpoint({ variables: [m.w, m.b], optimizer: m.opt });
  await m.step(3); // work after the checkpoint, lost with the device
  doomed.destroy();
  await doomed.lost;

  await assert.rejects(m.step(4), DeviceLostError, "applyGradients");
  assert.equal(m.opt.iterations, 4, "the refused step is not counted");
  assert.throws(() => m.w.read(), DeviceLostError, "variable.read");
  assert.throws(() => m.w.write(1), DeviceLostError, "variable.write");
  assert.throws(() => m.opt.getSlot(m.w, "accumulator").read(), DeviceLostError, "slot.read");
  await assert.rejects(m.opt.getWeights(), DeviceLostError, "getWeights");
  assert.throws(() => m.opt.setWeights([0]), DeviceLostError, "setWeights");
  await assert.rejects(saveCheckpoint({ variables: [m.w] }), DeviceLostError, "saveCheckpoint");
  const error = await m.step(4).catch((e) => e);
  assert.match(error.message, /the GPU device was lost \(destroyed.*restoreCheckpoint/);

  await withDevice(async (device) => {
    const again = smallModel(device);
    restoreCheckpoint(checkpoint, { variables: [again.w, again.b], optimizer: again.opt });
    for (let k = 3; k < 5; k++) await again.step(k);
    assert.deepEqual(
      [
        await again.w.read(),
        await again.b.read(),
        await again.opt.getSlot(again.w, "accumulator").read(),
      ],
      straight,
      "resumed on a new device = uninterrupted",
    );
    assertMoved(straight[0], again.init.w, "w");
    assertMoved(straight[1], again.init.b, "b");
    again.opt.destroy();
    again.store.destroy();
  });
});

test("a step on a destroyed device rejects with DeviceLostError and is not counted", async () => {
  // Submitted after destroy() in the same tick, and submitted just before it.
  for (const order of ["destroy, then step", "step, then destroy"] as const) {
    const device = await requestDevice();
    const store = new VariableStore(device);
    const w = store.variable("w", [7], gradient(7, 5));
    const opt = new Adagrad({ learningRate: 0.1 });
    await opt.applyGradients([[gradient(7, 6), w]]);
    let step: Promise<number>;
    if (order === "destroy, then step") {
      device.destroy();
      step = opt.applyGradients([[gradient(7, 7), w]]);
    } else {
      step = opt.applyGradients([[gradient(7, 7), w]]);
      device.destroy();
    }
    await assert.rejects(step, DeviceLostError, order);
    assert.equal(opt.iterations, 1, `${order}: the lost step is not counted`);
  }
});

test("a fresh optimizer's first step on a lost device rejects with DeviceLostError", async () => {
  // The store was made before destroy(), or after it (nothing of the package watched the device).
  for (const when of ["before", "after"] as const) {
    const device = await requestDevice();
    let store = when === "before" ? new VariableStore(device) : null;
    device.destroy();
    store ??= new VariableStore(device);
    const w = store.variable("w", [9], 0.25);
    const opt = new Adagrad({ learningRate: 0.1 });
    const error = await opt.applyGradients([[gradient(9, 8), w]]).catch((e) => e);
    assert.ok(error instanceof DeviceLostError, `store made ${when}: ${error}`);
    assert.equal(opt.iterations, 0);
  }
});
