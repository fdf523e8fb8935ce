// docs/sharding.md's claim: a table cut into row ranges, each with an optimizer of its own, gets
// the numbers of one table with one optimizer, when each shard receives the gradient rows of its
// range (repeated ids included) and steps every time; and the shards' checkpoints merge by name.
// Each shard's rows moved from their initial values (so a step that did nothing cannot pass).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Adagrad,
  decodeSafetensors,
  encodeSafetensors,
  IndexedSlices,
  RowWiseAdagrad,
  saveCheckpoint,
  VariableStore,
} from "../../mod.ts";
import { withDevice } from "../_gpu.ts";
import { assertMoved } from "../_moved.ts";
import { randomValues, rng } from "../_reference.ts";

const bits = (x: Float32Array) => Array.from(new Uint32Array(x.slice().buffer));

for (const Optimizer of [Adagrad, RowWiseAdagrad]) {
  test(`${Optimizer.name}: a row-sharded table gets the numbers of one table`, async () => {
    await withDevice(async (device, own) => {
      const random = rng(2302);
      const rows = 1001, width = 6, starts = [0, 334, 700, rows];
      const init = randomValues(random, rows * width);
      const store = own(new VariableStore(device));
      const whole = store.variable("emb/table", [rows, width], init);
      const wholeOpt = own(new Optimizer({ learningRate: 0.1, decay: 0.01 }));
      const shards = starts.slice(0, -1).map((first, k) => {
        const count = starts[k + 1] - first;
        const table = store.variable(
          `emb/table/rows_${first}_${first + count}`,
          [count, width],
          init.slice(first * width, (first + count) * width),
        );
        const opt = own(
          new Optimizer({ learningRate: 0.1, decay: 0.01, name: `Adagrad_shard_${k}` }),
        );
        return { first, count, table, opt };
      });
      for (let step = 0; step < 4; step++) {
        // Ids with repeats, and none in the last shard on step 2.
        const nnz = 40;
        const ids = Int32Array.from(
          { length: nnz },
          () => Math.floor(random() * (step === 2 ? 700 : rows)),
        );
        const grads = randomValues(random, nnz * width);
        await wholeOpt.applyGradients([[new IndexedSlices(grads, ids, [rows, width]), whole]]);
        await Promise.all(shards.map(({ first, count, table, opt }) => {
          const mine = [...ids.keys()].filter((i) => ids[i] >= first && ids[i] < first + count);
          const local = Int32Array.from(mine, (i) => ids[i] - first);
          const values = new Float32Array(mine.length * width);
          mine.forEach((i, j) => values.set(grads.subarray(i * width, (i + 1) * width), j * width));
          return opt.applyGradients([[new IndexedSlices(values, local, [count, width]), table]]);
        }));
      }
      const table = await whole.read();
      const acc = await wholeOpt.getSlot(whole, "accumulator").read();
      const accWidth = acc.length / rows; // width, or 1 for row-wise
      for (const { first, count, table: part, opt } of shards) {
        assert.equal(opt.iterations, 4);
        assert.deepEqual(
          bits(await part.read()),
          bits(table.subarray(first * width, (first + count) * width)),
          `rows ${first}..`,
        );
        assert.deepEqual(
          bits(await opt.getSlot(part, "accumulator").read()),
          bits(acc.subarray(first * accWidth, (first + count) * accWidth)),
          `accumulator rows ${first}..`,
        );
        assertMoved(
          await part.read(),
          init.subarray(first * width, (first + count) * width),
          `rows ${first}..`,
        );
      }

      // The shards' checkpoints merge by name: no name twice, every tensor kept.
      const merged = new Map();
      for (const { table, opt } of shards) {
        const file = decodeSafetensors(
          await saveCheckpoint({ variables: [table], optimizer: opt }),
        );
        for (const [name, tensor] of file.tensors) {
          assert.ok(!merged.has(name), `'${name}' is in one shard's file only`);
          merged.set(name, tensor);
        }
      }
      assert.equal(merged.size, 3 * shards.length);
      assert.ok(decodeSafetensors(encodeSafetensors(merged)).tensors.has("Adagrad_shard_2/iter"));
    });
  });
}
