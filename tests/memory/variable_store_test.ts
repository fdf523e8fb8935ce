// The store: layout visible to users' shaders, lazy allocation, reads and writes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { BufferRegion, VariableStore } from "../../mod.ts";
import { type LimitsChoice, withDevice } from "../_gpu.ts";
import { randomValues, rng } from "../_reference.ts";

for (const limits of ["default", "adapter"] as LimitsChoice[]) {
  test(`offsets honour minStorageBufferOffsetAlignment (${limits} limits)`, async () => {
    await withDevice(async (device) => {
      const store = new VariableStore(device);
      const random = rng(1);
      const vars = Array.from(
        { length: 30 },
        (_, i) =>
          store.variable(`v${i}`, [1 + Math.floor(random() * 100)], randomValues(random, 1)[0]),
      );
      const alignment = device.limits.minStorageBufferOffsetAlignment;
      for (const v of vars) {
        assert.equal(v.offset % alignment, 0);
        assert.equal(v.grad.offset, v.offset);
        assert.equal(v.grad.byteLength, v.byteLength);
        assert.ok(v.grad instanceof BufferRegion);
        assert.notEqual(v.grad.buffer, v.buffer);
      }
      // Every variable can be bound on its own (a validation error would fail withDevice).
      const layout = device.createBindGroupLayout({
        entries: [{ binding: 0, visibility: 4, buffer: { type: "storage" } }],
      });
      for (const v of vars) {
        for (const resource of [v, v.binding, v.grad, v.grad.binding]) {
          device.createBindGroup({ layout, entries: [{ binding: 0, resource }] });
        }
      }
      store.destroy();
      await Promise.resolve();
    }, limits);
  });
}

test("init values, write and read round-trip bit-exactly, before and after allocation", async () => {
  await withDevice(async (device) => {
    const random = rng(2);
    const store = new VariableStore(device);
    const a0 = randomValues(random, 1031);
    const a = store.variable("a", [1031], a0);
    const b = store.variable("b", [7, 3], 2.5);
    const c = store.variable("c", []);
    a0[0] = 12345; // the store copied the init; later changes to the array do not leak in
    const b1 = randomValues(random, 21);
    b.write(b1); // queued before allocation
    assert.deepEqual(b.shape, [7, 3]);
    assert.equal(b.length, 21);
    assert.equal(b.size, 84); // bytes, as a GPUBufferBinding's
    assert.equal(c.length, 1);
    const aRead = await a.read();
    assert.notEqual(aRead[0], 12345);
    assert.deepEqual(aRead.subarray(1), a0.subarray(1));
    assert.deepEqual(await b.read(), b1);
    assert.deepEqual(await c.read(), new Float32Array(1));
    c.write(-3); // after allocation
    assert.deepEqual(await c.read(), new Float32Array([-3]));
    assert.deepEqual(await a.read(), aRead, "writing c touched a");
    store.destroy();
  });
});

test("variables declared after allocation go to a new arena; existing bindings stay valid", async () => {
  await withDevice(async (device) => {
    const store = new VariableStore(device);
    const a = store.variable("a", [10], 1);
    const first = a.buffer; // allocates arena 0
    const b = store.variable("b", [10], 2);
    assert.equal(store.arenaCount, 2);
    assert.notEqual(b.buffer, first);
    assert.equal(a.buffer, first);
    assert.equal(b.offset, 0);
    assert.deepEqual(await b.read(), new Float32Array(10).fill(2));
    assert.equal(store.get("b"), b);
    assert.deepEqual(store.variables, [a, b]);
    store.destroy();
    assert.throws(() => a.buffer, /destroyed VariableStore/);
    assert.throws(() => store.variable("c", [1]), /was destroyed/);
  });
});
