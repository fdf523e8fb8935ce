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

test("the wgpu-matrix example fits its 4x4 transform", async () => {
  const { fitTransform } = await import("../examples/fit_transform.ts");
  await withDevice(async (device) => {
    const r = await fitTransform(device, { steps: 200, points: 300 });
    assert.ok(r.initialError > 1, `starts far: ${r.initialError}`);
    assert.ok(r.finalError < 0.01, `largest entry error ${r.finalError}`);
    assert.ok(r.pointError < 0.01, `point error ${r.pointError}`);
  });
});
