// What a new user hits, refused with a clear error and no change of state: reads after an
// optimizer's destroy() (never zeros), steps on a destroyed device (DeviceLostError, not counted,
// in the same tick too), two variables of one name in one optimizer, and a checkpoint restored
// into an optimizer with other settings.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Adagrad,
  decodeSafetensors,
  DeviceLostError,
  encodeSafetensors,
  IndexedSlices,
  restoreCheckpoint,
  saveCheckpoint,
  savedOptimizerConfig,
  VariableStore,
} from "../../mod.ts";
import { requestDevice, withDevice } from "../_gpu.ts";

const gradient = (n: number, seed: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(seed + 1.7 * i) / 2);

test("reads after destroy() refuse with the step's TypeError, never zeros", async () => {
  await withDevice(async (device, own) => {
    const store = own(new VariableStore(device));
    const w = store.variable("dense/kernel", [5], gradient(5, 1));
    const table = store.variable("table", [10, 3], 0.5);
    const opt = new Adagrad({ learningRate: 0.1, skipNonFinite: true });
    await opt.applyGradients([
      [gradient(5, 2), w],
      [new IndexedSlices(gradient(6, 3), new Int32Array([1, 4]), [10, 3]), table],
    ]);
    const extra = opt.addWeight("extra", [2], 3);
    const slot = opt.getSlot(w, "accumulator");
    const saved = await saveCheckpoint({ variables: [w, table], optimizer: opt });
    opt.destroy();
    const destroyed = { name: "TypeError", message: /Adagrad 'Adagrad' was destroyed/ };
    await assert.rejects(opt.getWeights(), destroyed, "getWeights");
    assert.throws(() => slot.read(), destroyed, "slot.read");
    assert.throws(() => slot.write(1), destroyed, "slot.write");
    assert.throws(() => extra.read(), destroyed, "an addWeight weight");
    await assert.rejects(saveCheckpoint({ variables: [w], optimizer: opt }), destroyed);
    await assert.rejects(opt.skippedSteps(), destroyed, "skippedSteps");
    await assert.rejects(opt.skippedIndices(), destroyed, "skippedIndices");
    await assert.rejects(opt.applyGradients([[gradient(5, 4), w]]), destroyed, "a step");
    assert.throws(() => restoreCheckpoint(saved, { variables: [w, table], optimizer: opt }));
    assert.equal(opt.iterations, 1);
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

test("two variables of one name in one optimizer are refused at the step, naming both stores", async () => {
  await withDevice(async (device, own) => {
    const a = own(new VariableStore(device, { label: "encoder" }));
    const b = own(new VariableStore(device, { label: "decoder" }));
    const wa = a.variable("dense/kernel", [4], gradient(4, 1));
    const wb = b.variable("dense/kernel", [4], gradient(4, 2));
    const opt = own(new Adagrad({ learningRate: 0.1 }));
    const clash =
      /variable 'dense\/kernel' of VariableStore 'decoder' has the name of another variable this optimizer updates, of VariableStore 'encoder'/;
    // In one step, and across steps (the first one was updated before).
    await assert.rejects(opt.applyGradients([[gradient(4, 3), wa], [gradient(4, 4), wb]]), {
      name: "TypeError",
      message: clash,
    });
    assert.equal(opt.iterations, 0);
    assert.equal(opt.weights.length, 1, "no slot was made");
    await opt.applyGradients([[gradient(4, 3), wa]]);
    const before = [await wa.read(), await wb.read()];
    await assert.rejects(opt.applyGradients([[gradient(4, 4), wb]]), { message: clash });
    assert.deepEqual([await wa.read(), await wb.read()], before);
    assert.equal(opt.iterations, 1);
    // Two unlabelled stores: the message says they share a label.
    const c = own(new VariableStore(device));
    const d = own(new VariableStore(device));
    const other = own(new Adagrad({ learningRate: 0.1 }));
    await assert.rejects(
      other.applyGradients([
        [gradient(2, 1), c.variable("bias", [2], 0)],
        [gradient(2, 2), d.variable("bias", [2], 0)],
      ]),
      { message: /another VariableStore also labelled 'webgpu-adagrad'/ },
    );
  });
});

test("a restore into other settings is refused, naming each; keep or adopt them on request", async () => {
  await withDevice(async (device, own) => {
    const store = own(new VariableStore(device));
    const w = store.variable("w", [6], gradient(6, 1));
    const saver = own(new Adagrad({ learningRate: 0.1, clipnorm: 1 }));
    for (let k = 0; k < 2; k++) await saver.applyGradients([[gradient(6, 2 + k), w]]);
    const bytes = await saveCheckpoint({ variables: [w], optimizer: saver });
    const saved = { w: await w.read(), acc: await saver.getSlot(w, "accumulator").read() };

    const target = own(new VariableStore(device));
    const v = target.variable("w", [6], 0.5);
    const other = own(new Adagrad({ learningRate: 0.5 }));
    await other.applyGradients([[gradient(6, 9), v]]);
    const before = { v: await v.read(), acc: await other.getSlot(v, "accumulator").read() };
    assert.throws(() => restoreCheckpoint(bytes, { variables: [v], optimizer: other }), {
      name: "TypeError",
      message:
        /optimizer 'Adagrad' has other settings than the checkpoint's: clipnorm unset here, 1 saved; learning_rate 0.5 here, 0.1 saved\. Pass \{ settings: "keep" \}.*Adagrad\.fromConfig\(savedOptimizerConfig\(bytes\)\)/,
    });
    assert.equal(other.iterations, 1, "the refusal changed nothing");
    assert.deepEqual(await v.read(), before.v);
    assert.deepEqual(await other.getSlot(v, "accumulator").read(), before.acc);
    assert.throws(
      () =>
        restoreCheckpoint(bytes, { variables: [v], optimizer: other }, {
          settings: "adopt" as "keep",
        }),
      { name: "TypeError", message: /settings must be "refuse" or "keep"/ },
    );

    // Keras's way: the state, this optimizer's settings.
    restoreCheckpoint(bytes, { variables: [v], optimizer: other }, { settings: "keep" });
    assert.equal(other.iterations, 2);
    assert.equal(other.learningRate, 0.5);
    assert.deepEqual(await other.getSlot(v, "accumulator").read(), saved.acc);
    // PyTorch's way: an optimizer built from the saved settings.
    const adopted = own(Adagrad.fromConfig(savedOptimizerConfig(bytes)!));
    restoreCheckpoint(bytes, { variables: [v], optimizer: adopted });
    assert.equal(adopted.clipnorm, 1);
    assert.deepEqual(await v.read(), saved.w);

    // A checkpoint from before the settings were compared (no optimizer_config) still loads.
    const file = decodeSafetensors(bytes);
    const { optimizer_config: _, ...metadata } = file.metadata;
    const older = encodeSafetensors(file.tensors, metadata);
    const fresh = own(new Adagrad({ learningRate: 0.5 }));
    restoreCheckpoint(older, { variables: [v], optimizer: fresh });
    assert.equal(fresh.iterations, 2);
  });
});
