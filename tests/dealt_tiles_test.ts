// A window of a variable past one binding has work only in a run of consecutive sparse tiles;
// the tile table deals tiles out (dealtPosition) so that a CPU adapter splitting the dispatch
// into contiguous blocks of workgroups, one per thread, gives every thread a share of the run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { DEAL_HANDS, dealtPosition } from "../src/_kernels/tiles.ts";

test("dealtPosition is a permutation of the table, for counts around the hands", () => {
  for (const count of [0, 1, 2, 63, 64, 65, 127, 128, 129, 1000, 4097]) {
    const seen = new Set<number>();
    for (let k = 0; k < count; k++) {
      const p = dealtPosition(k, count);
      assert.ok(Number.isInteger(p) && p >= 0 && p < count, `tile ${k} of ${count}: ${p}`);
      seen.add(p);
    }
    assert.equal(seen.size, count, `${count} tiles take ${seen.size} positions`);
  }
});

test("a run of consecutive tiles is spread evenly over contiguous blocks of the dispatch", () => {
  for (const count of [512, 1000, 4097]) {
    for (const threads of [2, 4, 8]) {
      const block = Math.ceil(count / threads);
      for (const [first, run] of [[0, 256], [count - 300, 300], [137, 375]]) {
        const share = new Array(threads).fill(0);
        for (let k = first; k < first + run; k++) {
          share[Math.floor(dealtPosition(k, count) / block)]++;
        }
        const even = run / threads;
        // A block holds DEAL_HANDS / threads hands, each with run / DEAL_HANDS tiles of the run, give
        // or take one, and may share a hand with the next block. In table order the whole run
        // would fall to one or two blocks.
        const slack = DEAL_HANDS / threads + Math.ceil(run / DEAL_HANDS) + 1;
        for (const s of share) {
          assert.ok(
            Math.abs(s - even) <= slack,
            `${count} tiles, ${threads} blocks, run ${first}+${run}: shares ${share}`,
          );
        }
      }
    }
  }
});
