// Streamed checkpoints (issue 23): saveCheckpointFile and restoreCheckpointFile carry tensors
// through the file in bounded windows. Here the window is made small, so that every tensor spans
// several and window edges fall mid-tensor, at sizes that are multiples of nothing in particular.
// The streamed file is the same bytes as saveCheckpoint's; either restores through either path,
// bit for bit; a refused file changes nothing; a step taken while streaming is refused; offsets
// past 4 GiB are exact (checked on the arithmetic and on a sparse file, not by writing GBs).
// Deno, Node and Bun (files); the in-page browser suite has none and does not import this file.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Adagrad,
  decodeSafetensors,
  encodeSafetensors,
  LossScaleOptimizer,
  restoreCheckpoint,
  restoreCheckpointFile,
  saveCheckpoint,
  saveCheckpointFile,
  savedOptimizerConfigFile,
  type Variable,
  VariableStore,
  writeFileAtomic,
} from "../../mod.ts";
import { type FileHandle, fileSystem, readAt, writeAt } from "../../src/checkpoint/_file_system.ts";
import { fileSink, fileSource } from "../../src/checkpoint/_file_streams.ts";
import { encodeHeader, parseHeader } from "../../src/checkpoint/_safetensors_header.ts";
import { CHUNK_BYTES, setCheckpointChunkBytes, windows } from "../../src/checkpoint/_windows.ts";
import { allocateCheckpoint } from "../../src/checkpoint/_checkpoint_bytes.ts";
import { arenaOf } from "../../src/memory/variable.ts";
import { type Own, withDevice } from "../_gpu.ts";
import { assertMoved } from "../_moved.ts";
import { patch } from "../../tools/_patch.ts";
import { randomValues, rng } from "../_reference.ts";

const fs = () => fileSystem("test");

/** A fresh path in the system's temporary directory (Deno, Node and Bun). */
function temporaryPath(): string {
  const process = (globalThis as { process: { getBuiltinModule(id: string): unknown } }).process;
  const os = process.getBuiltinModule("node:os") as { tmpdir(): string };
  const name = `webgpu-adagrad-stream-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  return `${os.tmpdir()}/${name}.safetensors`;
}

/** Runs `fn` with the chunk size set to `bytes`, then puts the default back. */
async function withChunk<T>(bytes: number, fn: () => Promise<T>): Promise<T> {
  const previous = setCheckpointChunkBytes(bytes);
  try {
    return await fn();
  } finally {
    setCheckpointChunkBytes(previous);
  }
}

const bits = (x: Float32Array) => Array.from(new Uint32Array(x.slice().buffer));

interface Model {
  vars: Variable[];
  opt: LossScaleOptimizer;
  /** Each variable's initial values. */
  init: Float32Array[];
}

/** Three variables of awkward sizes, Adagrad under a dynamic loss scale, with its own weight. */
function model(device: GPUDevice, seed: number, own: Own): Model {
  const random = rng(seed);
  const store = own(new VariableStore(device));
  const init = [2807, 143, 3].map((n) => randomValues(random, n));
  const vars = [
    store.variable("emb/table", [401, 7], init[0]),
    store.variable("dense/kernel", [13, 11], init[1]),
    store.variable("dense/bias", [3], init[2]),
  ];
  const inner = new Adagrad({ learningRate: 0.05, clipnorm: 2, device });
  const opt = own(new LossScaleOptimizer(inner, { initialScale: 256, dynamicGrowthSteps: 2 }));
  inner.addWeight("extra", [5], seed);
  return { vars, opt, init };
}

/** Three finite steps: the scale doubles once and its counter ends at 1. */
async function train(m: Model, seed: number): Promise<void> {
  const random = rng(seed);
  for (let k = 0; k < 3; k++) {
    await m.opt.applyGradients(m.vars.map((v) => [randomValues(random, v.length), v]));
  }
}

/** Everything a checkpoint holds, read through the public API (not through the checkpoint code). */
async function state(m: Model) {
  const out: Record<string, unknown> = {
    iterations: m.opt.iterations,
    scale: await m.opt.lossScale(),
    goodSteps: await m.opt.dynamicCounter(),
  };
  for (const v of m.vars) out[v.name] = bits(await v.read());
  for (const w of m.opt.innerOptimizer.weights) if ("read" in w) out[w.name] = bits(await w.read());
  return out;
}

const targets = (m: Model) => ({ variables: m.vars, optimizer: m.opt });

test("a streamed save is saveCheckpoint's bytes, and restores bit for bit either way", async () => {
  await withDevice(async (device, own) => {
    const saved = model(device, 1, own);
    await train(saved, 10);
    const before = await state(saved);
    for (const [k, v] of saved.vars.entries()) {
      assertMoved(await v.read(), saved.init[k], `${v.name} was trained`);
    }
    assert.equal(before.scale, 512, "the scale doubled");
    assert.equal(before.goodSteps, 1);
    const path = temporaryPath();
    const other = temporaryPath();
    try {
      // 1,004 and 4,100 bytes: the table (11,228 bytes) spans several windows, and the edges
      // fall inside tensors; then the default chunk (one window for the whole file).
      for (const chunk of [1004, 4100, CHUNK_BYTES]) {
        await withChunk(chunk, async () => {
          await saveCheckpointFile(path, targets(saved), { run: "stream" });
          const fileBytes = new Uint8Array(await fs().readFile(path));
          const bytes = await saveCheckpoint(targets(saved), { run: "stream" });
          assert.deepEqual(fileBytes, bytes, `chunk ${chunk}: the same bytes`);
          const file = decodeSafetensors(fileBytes);
          if (chunk < CHUNK_BYTES) {
            const data = [...file.tensors.values()].reduce((n, t) => n + t.data.length, 0);
            const table = file.tensors.get("emb/table")!.data;
            const begin = table.byteOffset - (fileBytes.length - data); // in the data section
            const edges = Math.floor((begin + table.length - 1) / chunk) -
              Math.floor(begin / chunk);
            assert.ok(edges >= 2, `window edges fall inside the table (${edges})`);
          }
          // What the file holds is what the public API reads, tensor by tensor.
          for (const v of saved.vars) {
            const t = file.tensors.get(v.name)!;
            assert.deepEqual(bits(new Float32Array(t.data.slice().buffer)), before[v.name]);
          }
          const acc = file.tensors.get("emb/table/accumulator")!.data;
          assert.deepEqual(
            bits(new Float32Array(acc.slice().buffer)),
            before["emb/table/accumulator"],
          );

          // The streamed file through the streamed restore, into other values.
          const fresh = model(device, 2, own);
          await restoreCheckpointFile(path, targets(fresh));
          assert.deepEqual(await state(fresh), before, `chunk ${chunk}: file -> file`);
          // The streamed file through restoreCheckpoint.
          const fromBytes = model(device, 3, own);
          restoreCheckpoint(fileBytes, targets(fromBytes));
          assert.deepEqual(await state(fromBytes), before, `chunk ${chunk}: file -> bytes`);
          // saveCheckpoint's bytes, written as they are, through the streamed restore.
          await writeFileAtomic(other, bytes);
          const fromFile = model(device, 4, own);
          await restoreCheckpointFile(other, targets(fromFile));
          assert.deepEqual(await state(fromFile), before, `chunk ${chunk}: bytes -> file`);
        });
      }
    } finally {
      await fs().rm(path, { force: true });
      await fs().rm(other, { force: true });
    }
  });
});

test("restoreCheckpointFile refuses a misfit, truncated or corrupt file before any write", async () => {
  await withDevice(async (device, own) => {
    const saved = model(device, 5, own);
    await train(saved, 11);
    const bytes = await saveCheckpoint(targets(saved));
    const target = model(device, 6, own);
    await train(target, 12);
    const before = await state(target);
    const length = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    /** The checkpoint with `fn` applied to its tensors (data views into a copy). */
    const edit = (fn: (t: ReturnType<typeof decodeSafetensors>["tensors"]) => void) => {
      const file = decodeSafetensors(bytes.slice());
      fn(file.tensors);
      return encodeSafetensors(file.tensors, file.metadata);
    };
    const int64 = (value: bigint) => new Uint8Array(new BigInt64Array([value]).buffer);
    const corruptJson = bytes.slice();
    corruptJson[8 + 1] = 0x7b; // '{' where a '"' opens the first key
    const longHeader = bytes.slice();
    new DataView(longHeader.buffer).setBigUint64(0, BigInt(bytes.length), true);
    const cases: [string, Uint8Array, Model | null, object, RegExp][] = [
      [
        "a truncated file",
        bytes.subarray(0, bytes.length - 4),
        target,
        {},
        /not a valid file: the file ends at byte \d+, .*the file is truncated: 4 bytes are missing/,
      ],
      [
        "a truncated header",
        bytes.subarray(0, 8 + length - 3),
        target,
        {},
        /not a valid file: its first 8 bytes say .*the file is truncated/,
      ],
      [
        "shorter than 8 bytes",
        bytes.subarray(0, 5),
        target,
        {},
        /the file is 5 bytes long, shorter than the 8-byte header length/,
      ],
      ["a corrupt header", corruptJson, target, {}, /header is not JSON/],
      [
        "a header length past the file",
        longHeader,
        target,
        {},
        /the header \(JSON\) takes \d+ bytes, up to byte \d+, but the file ends at byte/,
      ],
      [
        "a longer data section",
        new Uint8Array([...bytes, 0, 0, 0, 0]),
        target,
        {},
        /4 bytes longer than its tensors/,
      ],
      [
        "a variable of another shape",
        edit((t) => {
          const e = t.get("dense/bias")!;
          t.set("dense/bias", { dtype: "F32", shape: [1, 3], data: e.data });
        }),
        target,
        {},
        /tensor 'dense\/bias' is F32 \[1, 3\], but variable 'dense\/bias' needs/,
      ],
      [
        "a variable the file lacks",
        edit((t) => t.delete("dense/kernel")),
        target,
        {},
        /no tensor 'dense\/kernel'/,
      ],
      [
        "a tensor nobody claims",
        edit((t) => {
          t.set("other", { dtype: "F32", shape: [1], data: new Uint8Array(4) });
        }),
        target,
        {},
        /nothing here claims: other/,
      ],
      [
        "a negative iteration count",
        edit((t) => {
          t.set("Adagrad/iter", { dtype: "I64", shape: [], data: int64(-3n) });
        }),
        target,
        {},
        /iteration count -3/,
      ],
      [
        "a loss scale out of range",
        edit((t) => {
          const name = "Adagrad/loss_scale/current_loss_scale";
          t.set(name, {
            dtype: "F32",
            shape: [],
            data: new Uint8Array(new Float32Array([-1]).buffer),
          });
        }),
        target,
        {},
        /loss scale -1/,
      ],
      [
        "other settings",
        bytes,
        null,
        {},
        /learning_rate 0\.5 here, 0\.05 saved.*savedOptimizerConfigFile/,
      ],
      ["an unknown option", bytes, target, { setting: "keep" }, /unknown option 'setting'/],
    ];
    const path = temporaryPath();
    try {
      for (const [what, file, into, options, message] of cases) {
        await writeFileAtomic(path, file);
        let m = into;
        if (!m) { // the same tensors, but an optimizer of other settings
          const inner = new Adagrad({ learningRate: 0.5, clipnorm: 2, device });
          m = {
            vars: target.vars,
            opt: own(new LossScaleOptimizer(inner, { initialScale: 256, dynamicGrowthSteps: 2 })),
            init: target.init,
          };
          inner.addWeight("extra", [5]);
        }
        await assert.rejects(restoreCheckpointFile(path, targets(m), options), {
          name: "TypeError",
          message,
        }, what);
      }
      assert.deepEqual(await state(target), before, "nothing changed");
    } finally {
      await fs().rm(path, { force: true });
    }
  });
});

test("a step taken while a checkpoint streams is refused: the old file stays, no mixed restore", async () => {
  await withDevice(async (device, own) => {
    const m = model(device, 7, own);
    await train(m, 13);
    const path = temporaryPath();
    const grads = () =>
      m.vars.map((v): [Float32Array, Variable] => [new Float32Array(v.length), v]);
    try {
      await saveCheckpointFile(path, targets(m));
      const old = new Uint8Array(await fs().readFile(path));
      await withChunk(1004, async () => {
        // Not awaited: the step is submitted while the windows are read back.
        const saving = saveCheckpointFile(path, targets(m));
        const step = m.opt.applyGradients(grads());
        await assert.rejects(saving, {
          name: "Error",
          message:
            /^saveCheckpointFile: optimizer 'Adagrad' took a step while saveCheckpointFile streamed \(iterations 3, then 4\).*nothing was saved/,
        });
        await step;
        assert.deepEqual(new Uint8Array(await fs().readFile(path)), old, "the old file stays");
        // saveCheckpoint, whose windows are read back one after the other too.
        const inMemory = saveCheckpoint(targets(m));
        const another = m.opt.applyGradients(grads());
        await assert.rejects(inMemory, {
          name: "Error",
          message: /took a step .*\(iterations 4, then 5\)/,
        });
        await another;

        // A restore: a step lands between two windows (when the first one's writes are awaited).
        let stepped: Promise<number> | null = null;
        const undo = patch(device.queue, "onSubmittedWorkDone", (done) => () => {
          stepped ??= m.opt.applyGradients(grads());
          return done();
        });
        try {
          await assert.rejects(restoreCheckpointFile(path, targets(m)), {
            name: "Error",
            message:
              /^restoreCheckpointFile: .*took a step while restoreCheckpointFile streamed \(iterations 5, then 6\), so its state mixes/,
          });
        } finally {
          undo();
        }
        await stepped;
        assert.equal(m.opt.iterations, 6, "the file's count was not set over the step");
      });
      // Awaited, the same calls go through.
      await saveCheckpointFile(path, targets(m));
      await restoreCheckpointFile(path, targets(m));
      assert.equal(m.opt.iterations, 6);
    } finally {
      await fs().rm(path, { force: true });
    }
  });
});

test("offsets past 4 GiB are exact: header, windows, and positional reads and writes", async () => {
  // A 12 GiB layout, never allocated: three float32 tensors of 2**30 elements and a scalar.
  const tensors = [
    { name: "a", dtype: "F32", shape: [2 ** 30] },
    { name: "b", dtype: "F32", shape: [1024, 2 ** 20] },
    { name: "iter", dtype: "I64", shape: [] },
    { name: "c", dtype: "F32", shape: [2 ** 30 + 3] },
  ];
  const { bytes, layout, dataLength } = encodeHeader(tensors, { format: "x" });
  assert.deepEqual(layout.map((t) => [t.begin, t.end]), [
    [0, 2 ** 32],
    [2 ** 32, 2 ** 33],
    [2 ** 33, 2 ** 33 + 8],
    [2 ** 33 + 8, 3 * 2 ** 32 + 20],
  ]);
  assert.equal(dataLength, 3 * 2 ** 32 + 20);
  const length = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const parsed = parseHeader(bytes.subarray(8, 8 + length), dataLength);
  assert.deepEqual([...parsed.tensors.values()], layout);
  assert.throws(
    () => parseHeader(bytes.subarray(8, 8 + length), dataLength - 4),
    /tensor 'c' needs bytes up to \d+ .*the file is truncated: 4 bytes are missing/,
  );

  // Windows of the default chunk cover every byte once, each piece where its tensor has it.
  let covered = 0;
  let count = 0;
  let lastOfC = null;
  for (const w of windows(layout, CHUNK_BYTES)) {
    assert.equal(w.start, covered);
    for (const p of w.pieces) {
      assert.equal(layout[p.tensor].begin + p.firstByte, w.start + p.at);
      if (p.tensor === 3) lastOfC = p;
    }
    covered += w.length;
    count++;
  }
  assert.equal(covered, dataLength);
  assert.equal(count, Math.ceil(dataLength / CHUNK_BYTES));
  assert.equal(lastOfC!.firstByte + lastOfC!.byteLength, 2 ** 32 + 12, "c's last byte, past 4 GiB");

  // A save's last whole window to its place in a file, and back, through a handle that takes at most
  // 5 MiB a call (as a write or a read may): every call lands where its bytes belong.
  const calls: [string, number, number][] = [];
  const most = 5 << 20;
  const handle =
    (kind: string) => (_: Uint8Array, __: number, length: number, position: number) => {
      calls.push([kind, position, Math.min(length, most)]);
      return Promise.resolve({
        bytesWritten: Math.min(length, most),
        bytesRead: Math.min(length, most),
      });
    };
  const fake = { write: handle("write"), read: handle("read") } as unknown as FileHandle;
  const last = [...windows(layout, CHUNK_BYTES)].at(-2)!;
  const sink = fileSink(fake, bytes.length, CHUNK_BYTES);
  await sink.flush(sink.window(last.start, last.length), last.start);
  await fileSource(fake, bytes.length)(new Uint8Array(last.length), last.start);
  const at = bytes.length + last.start; // near 12 GiB
  assert.equal(last.length, CHUNK_BYTES);
  const expected = (kind: string) =>
    Array.from({ length: Math.ceil(last.length / most) }, (_, i): [string, number, number] => [
      kind,
      at + i * most,
      Math.min(most, last.length - i * most),
    ]);
  assert.deepEqual(calls, [...expected("write"), ...expected("read")]);

  // More than 2 GiB in one array (allocated, never touched: no memory is used) goes in calls of
  // at most 1 GiB: Node and Deno refuse a read or a write of 2 GiB or more.
  const huge = new Uint8Array(2 ** 31 + 8);
  calls.length = 0;
  const strict =
    (kind: string) => (_: Uint8Array, __: number, length: number, position: number) => {
      if (length > 2 ** 31 - 1) throw new RangeError(`${kind} of ${length} bytes`);
      calls.push([kind, position, length]);
      return Promise.resolve({ bytesWritten: length, bytesRead: length });
    };
  const limited = { write: strict("write"), read: strict("read") } as unknown as FileHandle;
  await writeAt(limited, huge, 3);
  await readAt(limited, huge, 5);
  const gib = 2 ** 30;
  assert.deepEqual(calls, [
    ["write", 3, gib],
    ["write", 3 + gib, gib],
    ["write", 3 + 2 * gib, 8],
    ["read", 5, gib],
    ["read", 5 + gib, gib],
    ["read", 5 + 2 * gib, 8],
  ]);

  // The runtime's file handle at positions past 4 GiB (a sparse file: nothing is written between).
  const path = temporaryPath();
  const file = await fs().open(path, "w+");
  try {
    const position = 5 * 2 ** 30 + 12;
    await writeAt(file, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), position);
    assert.equal((await file.stat()).size, position + 8);
    const back = new Uint8Array(6);
    await readAt(file, back, position + 1);
    assert.deepEqual([...back], [2, 3, 4, 5, 6, 7]);
    await assert.rejects(readAt(file, new Uint8Array(4), position + 6), /the file ends at byte/);
  } finally {
    await file.close();
    await fs().rm(path, { force: true });
  }
});

test("a checkpoint file of more than 4 GiB is checked from its header alone", async () => {
  // A sparse file: the header of a 5 GiB tensor, and the file's last byte.
  const header = encodeHeader([{ name: "blob", dtype: "U8", shape: [5 * 2 ** 30] }], {
    format: "webgpu-adagrad/1",
    optimizer_config: JSON.stringify({ learning_rate: 0.5 }),
  });
  const path = temporaryPath();
  const file = await fs().open(path, "w");
  try {
    await writeAt(file, header.bytes, 0);
    await writeAt(file, new Uint8Array(1), header.bytes.length + header.dataLength - 1);
    await file.close();
    assert.deepEqual(await savedOptimizerConfigFile(path), { learning_rate: 0.5 });
    await assert.rejects(restoreCheckpointFile(path, { variables: [] }), {
      name: "TypeError",
      message: /^restoreCheckpointFile: the checkpoint holds tensors nothing here claims: blob/,
    });
  } finally {
    await fs().rm(path, { force: true });
  }
});

test("saveCheckpoint: past the runtime's largest Uint8Array, a RangeError naming the size", () => {
  assert.throws(() => allocateCheckpoint(2 ** 53 - 8, "saveCheckpoint"), {
    name: "RangeError",
    message:
      /^saveCheckpoint: the checkpoint takes 9007199254740984 bytes \(8388608\.00 GiB\), more than this runtime can hold in one Uint8Array .*saveCheckpointFile\(path, targets\) streams it to a file in 16 MiB chunks/,
  });
});

let holdsFourGiB = true;
try {
  new Uint8Array(2 ** 32 + 8); // allocated lazily where it is allowed; freed at once
} catch {
  holdsFourGiB = false;
}

test("saveCheckpoint refuses a model larger than a Uint8Array before reading the GPU", {
  skip: holdsFourGiB ? "this runtime holds a Uint8Array larger than 4 GiB" : false,
}, async () => {
  await withDevice(async (device, own) => {
    // 33 variables of one binding each (4.1 GiB with the default limits), declared only: a store
    // allocates an arena when it is first used, and nothing here uses them.
    const store = own(new VariableStore(device));
    const elements = device.limits.maxStorageBufferBindingSize / 4;
    const vars = Array.from({ length: 33 }, (_, i) => store.variable(`v${i}`, [elements]));
    await assert.rejects(saveCheckpoint({ variables: vars }), {
      name: "RangeError",
      message:
        /^saveCheckpoint: the checkpoint takes \d+ bytes \(4\.\d\d GiB\).*saveCheckpointFile/,
    });
    assert.ok(vars.every((v) => !arenaOf(v).materialized), "no arena was allocated");
  });
});
