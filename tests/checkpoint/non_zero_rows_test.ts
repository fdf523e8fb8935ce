// saveNonZeroRows / restoreNonZeroRows: a sparse model's weights as plain safetensors of its
// non-zero rows, restored bit for bit with zeros elsewhere; refusals write nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  decodeSafetensors,
  encodeSafetensors,
  IndexedSlices,
  ProximalAdagrad,
  restoreNonZeroRows,
  saveNonZeroRows,
  VariableStore,
} from "../../mod.ts";
import { withDevice } from "../_gpu.ts";
import { assertMoved } from "../_moved.ts";
import { randomValues, rng } from "../_reference.ts";

test("a ProximalAdagrad-trained table round-trips through its non-zero rows, bit for bit", async () => {
  await withDevice(async (device, own) => {
    const random = rng(81);
    const store = own(new VariableStore(device));
    const [rows, width] = [5000, 8];
    const table = store.variable("emb", [rows, width], 0);
    const vector = store.variable("w", [3001], 0);
    const bias = store.variable("b", [], 0.25);
    const opt = own(new ProximalAdagrad({ learningRate: 0.5, l1RegularizationStrength: 0.2 }));
    for (let step = 0; step < 4; step++) {
      const ids = Int32Array.from({ length: 300 }, () => Math.floor(random() * rows));
      await opt.applyGradients([
        [new IndexedSlices(randomValues(random, 300 * width), ids, [rows, width]), table],
        [randomValues(random, 3001), vector],
      ]);
    }
    const before = await Promise.all([table, vector, bias].map((v) => v.read()));
    assertMoved(before[0], 0, "the table was trained");
    assertMoved(before[1], 0, "the vector was trained");
    const zeroRows = (values: Float32Array, w: number) => {
      let n = 0;
      for (let r = 0; r * w < values.length; r++) {
        if (values.subarray(r * w, (r + 1) * w).every((x) => x === 0)) n++;
      }
      return n;
    };
    assert.ok(zeroRows(before[0], width) > rows / 2, "most rows are zero");
    assert.ok(zeroRows(before[1], 1) > 0, "L1 left zeros in the vector");
    const bytes = await saveNonZeroRows([table, vector, bias], { model: "test" });
    // Plain safetensors: kept rows, their ids, the full shapes.
    const file = decodeSafetensors(bytes);
    assert.equal(file.metadata.model, "test");
    const kept = rows - zeroRows(before[0], width);
    assert.deepEqual(file.tensors.get("emb")!.shape, [kept, width]);
    assert.deepEqual(file.tensors.get("emb/row_ids")!.shape, [kept]);
    assert.equal(file.tensors.get("emb/row_ids")!.dtype, "I32");
    assert.deepEqual(file.tensors.get("b")!.shape, [1]);
    assert.ok(bytes.length < (rows * width + 3002) * 4 / 2, `${bytes.length} bytes`);
    // Into fresh variables holding other values: saved rows back, zeros elsewhere.
    const other = own(new VariableStore(device));
    const targets = [
      other.variable("emb", [rows, width], 7),
      other.variable("w", [3001], -1),
      other.variable("b", [], 3),
    ];
    restoreNonZeroRows(bytes, targets);
    const after = await Promise.all(targets.map((v) => v.read()));
    after.forEach((values, k) => {
      // L1's zeros may be -0 (TF's sign(prox) * 0): the file keeps no row of zeros, so such a row
      // comes back as +0; the kept rows keep their bits, -0 included.
      const a = new Uint32Array(values.buffer);
      const w = k === 0 ? width : 1;
      const expected = Float32Array.from(before[k]);
      for (let r = 0; r * w < expected.length; r++) {
        const row = expected.subarray(r * w, (r + 1) * w);
        if (row.every((x) => x === 0)) row.fill(0);
      }
      const b = new Uint32Array(expected.buffer);
      const i = a.findIndex((x, i) => x !== b[i]);
      assert.equal(i, -1, `${targets[k].name}[${i}]: ${values[i]} vs ${before[k][i]}`);
    });
  });
});

test("restoreNonZeroRows refuses other files, shapes, rows and leftovers, writing nothing", async () => {
  await withDevice(async (device, own) => {
    const store = own(new VariableStore(device));
    const init = new Float32Array(40).fill(0);
    init.set([1, 2, 3, 4], 8);
    const t = store.variable("t", [10, 4], init);
    const u = store.variable("u", [5], new Float32Array([0, 1, 0, 2, 0]));
    const bytes = await saveNonZeroRows([t, u]);
    const target = store.variable("t2", [10, 4], 9);
    const renamed = (name: string, shape: number[], ids: bigint[], extra = false) => {
      const file = decodeSafetensors(bytes);
      const tensors = new Map([
        [name, file.tensors.get("t")!],
        [`${name}/row_ids`, {
          dtype: "I64",
          shape: [ids.length],
          data: new Uint8Array(BigInt64Array.from(ids).buffer),
        }],
      ]);
      if (extra) tensors.set("stray", file.tensors.get("u")!);
      return encodeSafetensors(tensors, {
        ...file.metadata,
        dense_shapes: JSON.stringify({ [name]: shape }),
      });
    };
    // Ids of shape [1, 2]: two ids for one row of values.
    const twoDimensionalIds = () => {
      const file = decodeSafetensors(renamed("t2", [10, 4], [2n, 3n]));
      const ids = file.tensors.get("t2/row_ids")!;
      const values = file.tensors.get("t2")!;
      return encodeSafetensors(
        new Map([["t2", values], ["t2/row_ids", { ...ids, shape: [1, 2] }]]),
        file.metadata,
      );
    };
    // Two rows of values, their ids decreasing.
    const unordered = encodeSafetensors(
      new Map([
        ["t2", { dtype: "F32", shape: [2, 4], data: new Uint8Array(32) }],
        ["t2/row_ids", {
          dtype: "I32",
          shape: [2],
          data: new Uint8Array(new Int32Array([3, 2]).buffer),
        }],
      ]),
      { format: "webgpu-adagrad/non-zero-rows", dense_shapes: JSON.stringify({ t2: [10, 4] }) },
    );
    const cases: [Uint8Array, RegExp][] = [
      [unordered, /row id 2 at offset 1 of 't2\/row_ids' follows row 3: the ids must increase/],
      [encodeSafetensors(new Map(), {}), /not one of saveNonZeroRows/],
      [bytes, /no rows of variable 't2'/],
      [renamed("t2", [5, 8], [2n]), /has shape \[10, 4\], the file's \[5,8\]/],
      [
        renamed("t2", [10, 4], [10n]),
        /row id 10 at offset 0 of 't2\/row_ids' is out of range \[0, 10\)/,
      ],
      [renamed("t2", [10, 4], [2n], true), /nothing here claims: stray/],
      [
        twoDimensionalIds(),
        /tensor 't2\/row_ids' is I64 \[1, 2\], not a list of I32 or I64 row ids/,
      ],
    ];
    for (const [file, message] of cases) {
      assert.throws(() => restoreNonZeroRows(file, [target]), { name: "TypeError", message });
    }
    await assert.rejects(saveNonZeroRows([t, t]), { name: "TypeError", message: /listed twice/ });
    const clash = store.variable("t/row_ids", [3], 1);
    await assert.rejects(saveNonZeroRows([t, clash]), {
      name: "TypeError",
      message: /'t' and 't\/row_ids' would share the tensor/,
    });
    const mine = { buffer: t.buffer, offset: 0, size: 16, name: "mine" };
    await assert.rejects(saveNonZeroRows([t, mine as never]), {
      name: "TypeError",
      message: /^saveNonZeroRows: element 1 is an object, not a VariableStore's Variable/,
    });
    assert.deepEqual(await target.read(), new Float32Array(40).fill(9));
    restoreNonZeroRows(renamed("t2", [10, 4], [2n]), [target]);
    assert.deepEqual(await target.read(), init);
  });
});
