// Gradient regions keep their contents after a step; `store.zeroGrads()` and `variable.zeroGrad()`
// clear them on the GPU, on the caller's encoder or in a submit of their own, and nothing else.
import { test } from "node:test";
import assert from "node:assert/strict";
import { VariableStore } from "../../mod.ts";
import { readFloats } from "../../src/device/_transfer.ts";
import { withDevice } from "../_gpu.ts";

/** Every word of the store's gradient buffer (float16 halves read as pairs of bits). */
async function gradientWords(device: GPUDevice, buffer: GPUBuffer): Promise<Uint32Array> {
  return new Uint32Array((await readFloats(device, buffer, 0, buffer.size)).buffer);
}

for (const gradDtype of ["float32", "float16"] as const) {
  test(`zeroGrads and zeroGrad clear gradient regions (${gradDtype}), on an encoder or alone`, async () => {
    await withDevice(async (device, own) => {
      const store = own(new VariableStore(device, { gradDtype, maxArenaBytes: 1 << 12 }));
      // Two arenas (a 4 KiB arena holds up to 1,024 float32s), odd lengths.
      const vars = [store.variable("a", [3, 67], 0), store.variable("b", [301], 0)];
      vars.push(store.variable("c", [999], 0));
      const fill = (v: (typeof vars)[number]) => {
        const g = v.grad;
        device.queue.writeBuffer(g.buffer, g.offset, new Uint32Array(g.size / 4).fill(0x3c003c00));
      };
      const buffers = [...new Set(vars.map((v) => v.grad.buffer))];
      assert.equal(buffers.length, 2, "the variables span two arenas");
      const nonzero = async () => {
        const counts = await Promise.all(buffers.map((b) => gradientWords(device, b)));
        return counts.map((w) => w.filter((x) => x !== 0).length);
      };

      vars.forEach(fill);
      store.zeroGrads();
      assert.deepEqual(await nonzero(), [0, 0], "zeroGrads() in a submit of its own");

      vars.forEach(fill);
      const encoder = device.createCommandEncoder();
      store.zeroGrads(encoder);
      assert.notDeepEqual(
        await nonzero(),
        [0, 0],
        "nothing happens before the encoder is submitted",
      );
      device.queue.submit([encoder.finish()]);
      assert.deepEqual(await nonzero(), [0, 0], "zeroGrads(encoder)");

      vars.forEach(fill);
      vars[1].zeroGrad();
      const words = await gradientWords(device, vars[1].grad.buffer);
      const b = vars[1].grad;
      const inside = words.subarray(b.offset / 4, (b.offset + b.size) / 4);
      assert.ok(inside.every((x) => x === 0), "the variable's own region is zero");
      const a = vars[0].grad;
      const before = words.subarray(a.offset / 4, (a.offset + a.size) / 4);
      assert.ok(before.every((x) => x === 0x3c003c00), "the other variable's region is untouched");
    });
  });
}
