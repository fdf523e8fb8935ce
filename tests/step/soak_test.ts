// A long run: 10,000 steps (sparse and dense gradients, clipping, decay) create no GPU object and
// do not grow the heap.
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { counting, reset } from "../../tools/_counting.ts";
import { withDevice } from "../_gpu.ts";
import { smallModel } from "../_small_model.ts";

test("soak: 10,000 steps create no GPU object and do not grow the heap", async () => {
  await withDevice((device) =>
    counting(device, async (counts) => {
      const m = smallModel(device);
      for (let k = 0; k < 20; k++) await m.step(k % 50); // sizes every buffer
      await device.queue.onSubmittedWorkDone();
      // Heap after a full collection where the runtime offers one (the test commands turn it on:
      // node --expose-gc, deno --v8-flags=--expose-gc, Bun.gc), so garbage does not count.
      const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
      const collect = () => g.gc ? g.gc() : g.Bun?.gc(true);
      const heap = () => {
        collect();
        return process.memoryUsage().heapUsed;
      };
      reset(counts);
      const samples: number[] = [];
      for (let k = 0; k < 10_000; k++) {
        await m.step(k % 50);
        if (k % 2000 === 1999) {
          await device.queue.onSubmittedWorkDone();
          samples.push(heap());
        }
      }
      assert.deepEqual(counts.created, {}, "GPU objects created during 10,000 steps");
      assert.equal(counts.submits, 10_000);
      // From the first sample (2,000 steps) to the last (10,000): a leak of even 256 bytes per step
      // (the step's own arrays kept alive) would exceed this.
      const grown = samples.at(-1)! - samples[0];
      const collected = Boolean(g.gc ?? g.Bun);
      assert.ok(
        grown < (collected ? 2e6 : 20e6),
        `heap grew by ${(grown / 1e6).toFixed(2)} MB over 8,000 steps (collected: ${collected})`,
      );
      assert.equal(m.opt.iterations, 10_020);
      m.opt.destroy();
      m.store.destroy();
    })
  );
});
