// variable.readRows(ids) and variable.writeRows(ids, values) (issue 34): some rows of a 2-D
// variable to and from the CPU, against a CPU copy of the table, on random values (never zero):
// a table in one buffer, a table split into windows (small arenas make the edges cheap), runs of
// ids across a window's edge and across staging buffers, unsorted and repeated ids, empty ids.
// They move only the rows asked for (the copies and staging bytes are counted), and every refusal
// comes before anything is created or encoded, leaving the table as it was.
import { test } from "node:test";
import assert from "node:assert/strict";
import { type Variable, VariableStore } from "../../mod.ts";
import { setRowStagingBytes } from "../../src/memory/_rows.ts";
import { MAP_READ } from "../../src/_common/usage.ts";
import { type Own, withDevice } from "../_gpu.ts";
import { patch } from "../../tools/_patch.ts";
import { randomValues, rng } from "../_reference.ts";

/** A `[rows, width]` table of random values and its CPU copy. */
function table(
  device: GPUDevice,
  own: Own,
  rows: number,
  width: number,
  seed: number,
  maxArenaBytes?: number,
): { v: Variable; ref: Float32Array } {
  const store = own(new VariableStore(device, { maxArenaBytes }));
  const ref = randomValues(rng(seed), rows * width);
  return { v: store.variable("table", [rows, width], ref), ref: ref.slice() };
}

/** The reference's rows `ids`, in order. */
function refRows(ref: Float32Array, width: number, ids: ArrayLike<number>): Float32Array {
  const out = new Float32Array(ids.length * width);
  for (let i = 0; i < ids.length; i++) {
    out.set(ref.subarray(ids[i] * width, (ids[i] + 1) * width), i * width);
  }
  return out;
}

/** Writes `values` into the reference's rows `ids`. */
function refWrite(ref: Float32Array, width: number, ids: ArrayLike<number>, values: Float32Array) {
  for (let i = 0; i < ids.length; i++) {
    ref.set(values.subarray(i * width, (i + 1) * width), ids[i] * width);
  }
}

const bits = (x: Float32Array) => new Uint32Array(x.slice().buffer);

/** Asserts equal bits, naming the first difference (not a diff of thousands of floats). */
function assertSame(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const [a, b] = [bits(actual), bits(expected)];
  const first = a.findIndex((x, i) => x !== b[i]);
  assert.equal(first, -1, `${what}: element ${first} is ${actual[first]}, not ${expected[first]}`);
}

/** `n` distinct ids in `[0, rows)`, in random order. */
function distinctIds(random: () => number, n: number, rows: number): number[] {
  const ids = new Set<number>();
  while (ids.size < n) ids.add(Math.floor(random() * rows));
  return [...ids];
}

/** What the device was asked for while `fn` ran: copies (bytes each) and MAP_READ staging bytes. */
async function watching<T>(device: GPUDevice, fn: () => Promise<T> | T) {
  const copies: number[] = [];
  const staging: number[] = [];
  let encoders = 0;
  let buffers = 0;
  const undo = [
    patch(device, "createCommandEncoder", (create) => (descriptor) => {
      encoders++;
      const encoder = create(descriptor);
      const copy = encoder.copyBufferToBuffer.bind(encoder) as (...args: unknown[]) => void;
      encoder.copyBufferToBuffer = ((...args: unknown[]) => {
        copies.push(args[4] as number);
        copy(...args);
      }) as GPUCommandEncoder["copyBufferToBuffer"];
      return encoder;
    }),
    patch(device, "createBuffer", (create) => (descriptor) => {
      buffers++;
      if (descriptor.usage & MAP_READ) staging.push(descriptor.size);
      return create(descriptor);
    }),
  ];
  try {
    const result = await fn();
    return { result, copies, staging, encoders, buffers };
  } finally {
    for (const u of undo.reverse()) u();
  }
}

test("readRows and writeRows on a table in one buffer: any order, repeats, every id type", async () => {
  await withDevice(async (device, own) => {
    const [rows, width] = [1000, 7];
    const { v, ref } = table(device, own, rows, width, 3401);
    assert.ok(!v.split);
    const random = rng(3402);
    // Unsorted, with repeats (a few hot rows), the first and last rows.
    const ids = Array.from(
      { length: 300 },
      () => random() < 0.3 ? [0, 999, 17][Math.floor(random() * 3)] : Math.floor(random() * rows),
    );
    for (const form of [ids, Int32Array.from(ids), Uint32Array.from(ids)]) {
      assertSame(await v.readRows(form), refRows(ref, width, ids), form.constructor.name);
    }
    // Writes of distinct ids in random order, each id type; the rows between keep their bits.
    const forms = [
      (x: number[]) => x,
      (x: number[]) => Int32Array.from(x),
      (x: number[]) => Uint32Array.from(x),
    ];
    for (const make of forms) {
      const some = distinctIds(random, 150, rows);
      const values = randomValues(random, some.length * width);
      v.writeRows(make(some), values);
      refWrite(ref, width, some, values);
      assertSame(await v.read(), ref, "the whole table after writeRows");
    }
    // Queued in order: a read right after a write, with nothing awaited between, sees it.
    const last = [5, 4, 3];
    const values = randomValues(random, 3 * width);
    v.writeRows(last, values);
    refWrite(ref, width, last, values);
    assertSame(await v.readRows([3, 4, 5, 6]), refRows(ref, width, [3, 4, 5, 6]), "in order");
    // Empty ids: nothing read, nothing written, nothing made on the device.
    const empty = await watching(device, async () => {
      assert.equal((await v.readRows([])).length, 0);
      assert.equal((await v.readRows(new Int32Array(0))).length, 0);
      v.writeRows(new Uint32Array(0), new Float32Array(0));
    });
    assert.deepEqual([empty.encoders, empty.buffers], [0, 0], "empty ids make nothing");
    assertSame(await v.read(), ref, "the table after empty calls");
  });
});

test("readRows and writeRows on a split table: rows at window edges, runs across them", async () => {
  await withDevice(async (device, own) => {
    // 4 KiB arenas: 146 rows of 7 per window, windows [0, 146), [146, 292), [292, 301).
    const [rows, width] = [301, 7];
    const { v, ref } = table(device, own, rows, width, 3403, 4096);
    assert.deepEqual(v.windows.map((w) => [w.first / width, w.rows]), [[0, 146], [146, 146], [
      292,
      9,
    ]]);
    const edges = [0, 145, 146, 291, 292, 300];
    assertSame(await v.readRows(edges), refRows(ref, width, edges), "the edge rows");
    // Consecutive ids across each edge (one run would cross it), backwards and repeated.
    const across = [148, 147, 146, 145, 144, 143, 290, 291, 292, 293, 146, 291];
    assertSame(await v.readRows(across), refRows(ref, width, across), "runs across edges");
    const random = rng(3404);
    const scattered = Array.from({ length: 500 }, () => Math.floor(random() * rows));
    assertSame(await v.readRows(scattered), refRows(ref, width, scattered), "500 random ids");
    // Writes across the edges, then random ones; the whole table against the reference.
    const write = [143, 144, 145, 146, 147, 148, 289, 290, 291, 292, 293, 300, 0];
    for (const some of [write, distinctIds(random, 120, rows)]) {
      const values = randomValues(random, some.length * width);
      v.writeRows(Int32Array.from(some), values);
      refWrite(ref, width, some, values);
      assertSame(await v.read(), ref, "the whole table after writeRows");
    }
    assertSame(await v.readRows(scattered), refRows(ref, width, scattered), "after the writes");
  });
});

test("a read or write larger than one staging buffer: runs cut at the staging buffers' edges", async () => {
  await withDevice(async (device, own) => {
    const [rows, width] = [301, 7];
    const { v, ref } = table(device, own, rows, width, 3405, 4096);
    const previous = setRowStagingBytes(5 * 4 * width); // 5 rows per staging buffer
    try {
      const random = rng(3406);
      const ids = [...Array.from({ length: 40 }, (_, i) => 130 + i), 7, 300, 7, 12, 13];
      const seen = await watching(device, () => v.readRows(ids));
      assertSame(seen.result, refRows(ref, width, ids), "40 consecutive rows, and others");
      assert.ok(seen.staging.length >= 9, `${seen.staging.length} staging buffers`);
      assert.ok(seen.staging.every((bytes) => bytes <= 5 * 4 * width));
      const some = [...Array.from({ length: 23 }, (_, i) => 280 - i), 0, 1, 2, 3, 4, 5, 6];
      const values = randomValues(random, some.length * width);
      v.writeRows(some, values);
      refWrite(ref, width, some, values);
      assertSame(await v.read(), ref, "the whole table after a write over several buffers");
    } finally {
      setRowStagingBytes(previous);
    }
  });
});

test("readRows and writeRows move only the rows asked for: one copy per run of ids", async () => {
  await withDevice(async (device, own) => {
    // Rows of 32 floats (128 bytes) in 256 KiB arenas: 2,048 rows per window, 10 windows.
    const [rows, width] = [20_000, 32];
    const { v, ref } = table(device, own, rows, width, 3407, 256 << 10);
    assert.equal(v.windows.length, 10);
    const rowBytes = 4 * width;
    // Three runs: 100..102; 5000 and 5002 (one row apart: read as one copy of 3 rows); 9999.
    const ids = [102, 9999, 100, 5002, 101, 5000, 100];
    const read = await watching(device, () => v.readRows(ids));
    assertSame(read.result, refRows(ref, width, ids), "the rows");
    assert.deepEqual(read.copies, [3 * rowBytes, 3 * rowBytes, rowBytes], "one copy per run");
    assert.deepEqual(read.staging, [7 * rowBytes], "one staging buffer of the runs' rows");
    // A write copies runs of consecutive ids only: it never writes the rows between.
    const some = [5002, 100, 101, 5000, 102, 9999];
    const values = randomValues(rng(3408), some.length * width);
    const written = await watching(device, () => v.writeRows(some, values));
    assert.deepEqual(written.copies, [3 * rowBytes, rowBytes, rowBytes, rowBytes]);
    refWrite(ref, width, some, values);
    assertSame(await v.read(), ref, "the whole table");
  });
});

test("readRows and writeRows refuse bad ids, values and variables before anything is made", async () => {
  await withDevice(async (device, own) => {
    const [rows, width] = [10, 3];
    const { v, ref } = table(device, own, rows, width, 3409);
    const store = own(new VariableStore(device));
    const vector = store.variable("vector", [10], 1);
    const cube = store.variable("cube", [2, 3, 4], 1);
    const values = randomValues(rng(3410), 2 * width);
    const read = (ids: unknown) => () => v.readRows(ids as number[]);
    const write = (ids: unknown, x: unknown = values) => () =>
      v.writeRows(ids as number[], x as Float32Array);
    const cases: [string, () => unknown, string, RegExp][] = [
      [
        "a 1-D variable",
        () => vector.readRows([0]),
        "TypeError",
        /^readRows of variable 'vector': the variable has shape \[10\], not \[rows, width\]; readRows takes 2-D variables/,
      ],
      [
        "a 3-D variable",
        () => cube.writeRows([0], new Float32Array(12)),
        "TypeError",
        /^writeRows of variable 'cube': the variable has shape \[2, 3, 4\], not \[rows, width\]/,
      ],
      [
        "ids of another type",
        read(new Float32Array([1])),
        "TypeError",
        /^readRows of variable 'table': ids must be an Int32Array, a Uint32Array or an array of integers, got a Float32Array of length 1$/,
      ],
      ["ids not an array", write(3), "TypeError", /ids must be .*got number 3$/],
      ["ids null", read(null), "TypeError", /ids must be .*got null$/],
      [
        "an id that is not an integer",
        read([1, 2.5]),
        "TypeError",
        /^readRows of variable 'table': ids must be integers; ids\[1\] is number 2\.5$/,
      ],
      ["an id that is a string", write(["1", 2]), "TypeError", /ids\[0\] is the string "1"/],
      ["a NaN id", read([NaN]), "TypeError", /ids\[0\] is number NaN/],
      [
        "a negative id",
        read(new Int32Array([3, -1])),
        "RangeError",
        /^readRows of variable 'table': id -1 at offset 1 in ids is out of range \[0, 10\)$/,
      ],
      [
        "an id past the last row",
        write(new Uint32Array([10, 2])),
        "RangeError",
        /^writeRows of variable 'table': id 10 at offset 0 in ids is out of range \[0, 10\)$/,
      ],
      ["an id past the last row (array)", read([0, 1, 2, 99]), "RangeError", /id 99 at offset 3/],
      [
        "values of another type",
        write([1, 2], Array.from(values)),
        "TypeError",
        /^writeRows of variable 'table': values must be a Float32Array, got an array of length 6$/,
      ],
      ["float64 values", write([1, 2], new Float64Array(6)), "TypeError", /got a Float64Array/],
      [
        "values of another length",
        write([1, 2, 3]),
        "TypeError",
        /^writeRows of variable 'table': values hold 6 elements, expected 3 rows of 3 \(9\) for 3 ids$/,
      ],
      [
        "an id given twice",
        write(new Int32Array([4, 7, 4]), randomValues(rng(1), 9)),
        "RangeError",
        /^writeRows of variable 'table': id 4 is at offsets 0 and 2 in ids; each row is written once/,
      ],
    ];
    const seen = await watching(device, () => {
      for (const [what, call, name, message] of cases) {
        assert.throws(call, { name, message }, what); // synchronously, readRows too
      }
    });
    assert.deepEqual([seen.encoders, seen.buffers], [0, 0], "nothing was created or encoded");
    assertSame(await v.read(), ref, "the table is unchanged");
    // A destroyed store.
    store.destroy();
    assert.throws(() => vector.readRows([0]), { name: "TypeError", message: /destroyed/ });
  });
});
