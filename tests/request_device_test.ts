// requestDevice: the descriptor it builds, and its errors, checked with a stand-in entry point
// (the real one is used by every GPU test through tests/_gpu.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { requestDevice } from "../mod.ts";

const LIMITS = {
  maxStorageBufferBindingSize: 1 << 30,
  maxBufferSize: 1 << 31,
  minStorageBufferOffsetAlignment: 32,
  maxComputeWorkgroupsPerDimension: 65535,
};

/** A GPU whose adapter records the descriptor it was asked for. */
function standIn(adapter: boolean) {
  const seen: { options?: unknown; descriptor?: GPUDeviceDescriptor } = {};
  const gpu = {
    requestAdapter(options?: unknown) {
      seen.options = options;
      return Promise.resolve(
        adapter
          ? {
            limits: LIMITS,
            requestDevice(descriptor: GPUDeviceDescriptor) {
              seen.descriptor = descriptor;
              return Promise.resolve({ label: descriptor.label ?? "" });
            },
          }
          : null,
      );
    },
  } as unknown as GPU;
  return { gpu, seen };
}

test("requestDevice asks for the adapter's buffer limits only when told to", async () => {
  const plain = standIn(true);
  await requestDevice({ gpu: plain.gpu });
  // No requiredLimits key at all: bun-webgpu 0.1.7 rejects even an empty object.
  assert.deepEqual(plain.seen.descriptor, {});
  assert.equal(plain.seen.options, undefined);

  const big = standIn(true);
  await requestDevice({
    gpu: big.gpu,
    limits: "adapter",
    powerPreference: "high-performance",
    requiredLimits: { maxComputeWorkgroupsPerDimension: 1000 },
    label: "trainer",
  });
  assert.deepEqual(big.seen.options, { powerPreference: "high-performance" });
  assert.deepEqual(big.seen.descriptor, {
    requiredLimits: {
      maxStorageBufferBindingSize: 1 << 30,
      maxBufferSize: 1 << 31,
      minStorageBufferOffsetAlignment: 32,
      maxComputeWorkgroupsPerDimension: 1000,
    },
    label: "trainer",
  });
});

test("requestDevice: no entry point, no adapter, bad options", async () => {
  await assert.rejects(
    requestDevice({ gpu: {} as GPU }),
    { name: "TypeError", message: /no WebGPU entry point \(navigator\.gpu\)/ },
  );
  await assert.rejects(requestDevice({ gpu: standIn(false).gpu }), /no WebGPU adapter/);
  await assert.rejects(
    requestDevice({ gpu: standIn(true).gpu, limits: "all" as never }),
    { name: "RangeError", message: /limits must be "default" or "adapter"/ },
  );
  await assert.rejects(requestDevice(3 as never), TypeError);
});

test("requestDevice: limits the adapter refuses are named in the error", async () => {
  // What bun-webgpu 0.1.7 does with any requiredLimits.
  const refusing = {
    requestAdapter: () =>
      Promise.resolve({
        limits: LIMITS,
        requestDevice: (d: GPUDeviceDescriptor) =>
          d.requiredLimits
            ? Promise.reject(
              new DOMException("Value must be between 0 and 0, got 8", "OperationError"),
            )
            : Promise.resolve({}),
      }),
  } as unknown as GPU;
  await assert.rejects(requestDevice({ gpu: refusing, limits: "adapter" }), (e: Error) => {
    assert.match(
      e.message,
      /^requestDevice: the adapter refused the limits \{"maxStorageBufferBindingSize":1073741824,/,
    );
    assert.match(e.message, /\(OperationError: Value must be between 0 and 0, got 8\)/);
    if ("Bun" in globalThis) assert.match(e.message, /on Bun, use Node's `webgpu` instead/);
    assert.equal((e.cause as Error).message, "Value must be between 0 and 0, got 8");
    return true;
  });
  // Without limits nothing is wrapped: the device comes back.
  assert.deepEqual(await requestDevice({ gpu: refusing }), {});
});
