// What a step costs on the GPU side: after the first step (which creates the slots), a step
// creates no GPU object at all, submits once, and dispatches once per arena, whatever the number
// of variables. Counted by wrapping the device's own methods, not by asking the optimizer.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Adagrad, type GradientPair, VariableStore } from "../mod.ts";
import { withDevice } from "./_gpu.ts";
import { randomValues, rng } from "./_reference.ts";

interface Counts {
  created: Record<string, number>;
  dispatches: number;
  submits: number;
}

function instrument(device: GPUDevice): Counts {
  const counts: Counts = { created: {}, dispatches: 0, submits: 0 };
  const d = device as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (
    const name of [
      "createBuffer",
      "createBindGroup",
      "createBindGroupLayout",
      "createPipelineLayout",
      "createComputePipeline",
      "createShaderModule",
      "createTexture",
    ]
  ) {
    const original = d[name].bind(device);
    d[name] = (...args: unknown[]) => {
      counts.created[name] = (counts.created[name] ?? 0) + 1;
      return original(...args);
    };
  }
  const createEncoder = device.createCommandEncoder.bind(device);
  device.createCommandEncoder = (descriptor?: GPUCommandEncoderDescriptor) => {
    const encoder = createEncoder(descriptor);
    const beginPass = encoder.beginComputePass.bind(encoder);
    encoder.beginComputePass = (passDescriptor?: GPUComputePassDescriptor) => {
      const pass = beginPass(passDescriptor);
      const dispatch = pass.dispatchWorkgroups.bind(pass);
      pass.dispatchWorkgroups = (x: number, y?: number, z?: number) => {
        counts.dispatches++;
        dispatch(x, y, z);
      };
      return pass;
    };
    return encoder;
  };
  const submit = device.queue.submit.bind(device.queue);
  device.queue.submit = (buffers: GPUCommandBuffer[]) => {
    counts.submits++;
    submit(buffers);
  };
  return counts;
}

function reset(c: Counts) {
  c.created = {};
  c.dispatches = 0;
  c.submits = 0;
}

for (const variables of [10, 100, 1000]) {
  test(`${variables} variables: one submit, one dispatch, no GPU allocation per step`, async () => {
    await withDevice(async (device) => {
      const counts = instrument(device);
      const random = rng(variables);
      const store = new VariableStore(device);
      const vars = Array.from(
        { length: variables },
        (_, i) => store.variable(`v${i}`, [1 + Math.floor(random() * 5000)], 0.5),
      );
      const opt = new Adagrad({ learningRate: 0.01 });
      const pairs = (skip: number): GradientPair[] =>
        vars.map((v, i) => [i % 7 === skip ? null : v.grad, v]);
      await opt.applyGradients(pairs(-1)); // creates the slots
      for (let step = 0; step < 12; step++) {
        reset(counts);
        // The set of variables with gradients changes every step (a different seventh skipped).
        await opt.applyGradients(pairs(step % 7));
        assert.deepEqual(counts.created, {}, `step ${step} created GPU objects`);
        assert.equal(counts.submits, 1, "submits per step");
        assert.equal(counts.dispatches, store.arenaCount, "dispatches per step");
      }
      assert.equal(store.arenaCount, 1);
      // Gradients uploaded from the CPU cost no GPU allocation either.
      reset(counts);
      await opt.applyGradients(vars.map((v) => [randomValues(random, v.size), v]));
      assert.deepEqual(counts.created, {});
      assert.equal(counts.dispatches, 1);
    });
  });
}

test("dispatches per step follow the number of arenas, not of variables", async () => {
  await withDevice(async (device) => {
    const counts = instrument(device);
    const store = new VariableStore(device, { maxArenaBytes: 64 * 1024 });
    const vars = Array.from({ length: 200 }, (_, i) => store.variable(`v${i}`, [1000], 1));
    const opt = new Adagrad();
    await opt.applyGradients(vars.map((v) => [v.grad, v]));
    reset(counts);
    await opt.applyGradients(vars.map((v) => [v.grad, v]));
    assert.equal(store.arenaCount, Math.ceil(200 / 16)); // 16 variables of 4000 B per 64 KiB
    assert.equal(counts.dispatches, store.arenaCount);
    assert.equal(counts.submits, 1);
    // Variables of only the first arena: one dispatch.
    reset(counts);
    await opt.applyGradients(vars.slice(0, 16).map((v) => [v.grad, v]));
    assert.equal(counts.dispatches, 1);
  });
});

test("a second optimizer on the same device reuses the compiled pipeline", async () => {
  await withDevice(async (device) => {
    const counts = instrument(device);
    const store = new VariableStore(device);
    const v = store.variable("v", [10], 1);
    await new Adagrad().applyGradients([[v.grad, v]]);
    const pipelines = counts.created.createComputePipeline;
    assert.equal(pipelines, 1);
    await new Adagrad().applyGradients([[v.grad, v]]);
    assert.equal(counts.created.createComputePipeline, pipelines);
    assert.equal(counts.created.createShaderModule, 1);
  });
});
