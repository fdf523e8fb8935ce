// A window of a variable past one binding has work only in a run of consecutive sparse tiles;
// the tile table deals tiles out (dealtOrder) so that a CPU adapter splitting the dispatch into
// contiguous blocks of workgroups, one per thread, gives every thread a share of the run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { dealtOrder } from "../../src/_kernels/tiles.ts";

const COUNTS = [0, 1, 2, 5, 17, 63, 64, 65, 100, 128, 129, 1000, 4097];

test("dealtOrder is a permutation of the table, for counts around powers of two", () => {
  for (const count of COUNTS) {
    // A longer array, as the step reuses one: entries past the count stay as they were.
    const positions = new Uint32Array(count + 3).fill(7777);
    dealtOrder(count, positions);
    const seen = new Set(positions.subarray(0, count));
    assert.equal(seen.size, count, `${count} tiles take ${seen.size} positions`);
    assert.ok([...seen].every((p) => p < count), `${count}: a position past the table`);
    assert.deepEqual([...positions.subarray(count)], [7777, 7777, 7777]);
  }
});

test("any run of consecutive tiles is shared evenly by 2, 4 or 8 contiguous blocks of the table", () => {
  for (const count of COUNTS.filter((c) => c >= 2)) {
    const positions = new Uint32Array(count);
    dealtOrder(count, positions);
    for (const threads of [2, 4, 8].filter((t) => t <= count)) {
      // Every run length from one tile per block up, short runs included, at many starts.
      for (let run = threads; run <= Math.min(count, 300); run += 5) {
        for (let first = 0; first + run <= count; first += 11) {
          const share = new Array(threads).fill(0);
          for (let k = first; k < first + run; k++) {
            share[Math.min(threads - 1, Math.floor((positions[k] * threads) / count))]++;
          }
          // Each block takes the run's even share rounded down or up; in table order the run
          // would fall to one or two blocks.
          assert.ok(
            share.every((s) => Math.abs(s - run / threads) < 1),
            `${count} tiles, ${threads} blocks, tiles ${first}..${first + run - 1}: ${share}`,
          );
        }
      }
    }
  }
});
