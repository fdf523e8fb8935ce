// The main job on a subset: the held-out loss falls, the accuracy beats the majority class, and a
// run resumed from its checkpoint carries on from where it stopped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { trainSpamClassifier } from "../examples/spam_classifier.ts";
import { withDevice } from "./_gpu.ts";

test("spam classifier on 400 messages, one epoch, then resumed for one more", async () => {
  const dir = await mkdtemp(join(tmpdir(), "webgpu-adagrad-demo-"));
  try {
    await withDevice(async (device) => {
      const options = {
        epochs: 1,
        batch: 32,
        learningRate: 0.2,
        tableBits: 16,
        seed: 3,
        limit: 400,
        checkpoint: join(dir, "spam.safetensors"),
      };
      const first = await trainSpamClassifier(device, options);
      assert.deepEqual(first.messages, { train: 320, test: 80 });
      assert.ok(
        first.finalLoss < 0.9 * first.initialLoss,
        `held-out loss ${first.initialLoss} -> ${first.finalLoss}`,
      );
      assert.ok(
        first.accuracy > first.majority,
        `accuracy ${first.accuracy} vs majority ${first.majority}`,
      );
      const second = await trainSpamClassifier(device, { ...options, resume: true });
      assert.equal(second.epochsDone, 2);
      assert.equal(second.initialLoss, first.finalLoss, "resumed from the saved weights");
      // The second epoch starts from trained weights: its training loss is below the first's.
      assert.ok(
        second.trainLoss[0] < first.trainLoss[0],
        `training loss ${first.trainLoss[0]} then ${second.trainLoss[0]}`,
      );
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("spam classifier in mixed precision: float16 gradients of a scaled loss learn as well", async () => {
  await withDevice(async (device) => {
    const options = { epochs: 1, batch: 32, learningRate: 0.2, tableBits: 16, seed: 3, limit: 400 };
    const plain = await trainSpamClassifier(device, options);
    const mixed = await trainSpamClassifier(device, { ...options, mixedPrecision: true });
    assert.ok(mixed.accuracy > mixed.majority, `accuracy ${mixed.accuracy}`);
    // float16 rounds each gradient to 11 significant bits: the losses agree to about 1e-3.
    assert.ok(
      Math.abs(mixed.finalLoss - plain.finalLoss) < 2e-3 * plain.initialLoss,
      `held-out loss ${plain.finalLoss} (float32) vs ${mixed.finalLoss} (mixed precision)`,
    );
    assert.ok(mixed.finalLoss < 0.9 * mixed.initialLoss, `held-out loss ${mixed.finalLoss}`);
  });
});

test("the wgpu-matrix example fits its 4x4 transform, in float32 and in mixed precision", async () => {
  const { fitTransform } = await import("../examples/fit_transform.ts");
  await withDevice(async (device) => {
    for (const mixedPrecision of [false, true]) {
      const r = await fitTransform(device, { steps: 200, points: 300, mixedPrecision });
      const what = mixedPrecision ? "mixed precision" : "float32";
      assert.ok(r.initialError > 1, `${what}: starts far: ${r.initialError}`);
      assert.ok(r.finalError < 0.01, `${what}: largest entry error ${r.finalError}`);
      assert.ok(r.pointError < 0.01, `${what}: point error ${r.pointError}`);
      // The first gradients times 2**15 overflow float16: those steps were skipped, the scale fell.
      if (mixedPrecision) assert.ok(r.lossScale! < 2 ** 15, `loss scale ${r.lossScale}`);
      else assert.equal(r.lossScale, undefined);
    }
  });
});
