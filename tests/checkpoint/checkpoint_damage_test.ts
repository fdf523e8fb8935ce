// Damaged checkpoint files (issue 34): every safetensors reader (restoreCheckpoint in memory,
// restoreCheckpointFile streamed from a file, restoreNonZeroRows, decodeSafetensors and
// savedOptimizerConfigFile) names the real cause of a refusal: a file cut short says where it ends
// and how far its last tensor needs it to go; a header length past the file says both; ranges
// that overlap name both tensors. Each refusal is a TypeError, and nothing was restored.
// Deno, Node and Bun (files); the in-page browser suite has none and does not import this file.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Adagrad,
  decodeSafetensors,
  restoreCheckpoint,
  restoreCheckpointFile,
  restoreNonZeroRows,
  saveCheckpoint,
  savedOptimizerConfigFile,
  saveNonZeroRows,
  type Variable,
  VariableStore,
  writeFileAtomic,
} from "../../mod.ts";
import { fileSystem } from "../../src/checkpoint/_file_system.ts";
import { type Own, withDevice } from "../_gpu.ts";
import { randomValues, rng } from "../_reference.ts";

/** A fresh path in the system's temporary directory (Deno, Node and Bun). */
function temporaryPath(): string {
  const process = (globalThis as { process: { getBuiltinModule(id: string): unknown } }).process;
  const os = process.getBuiltinModule("node:os") as { tmpdir(): string };
  const name = `webgpu-adagrad-damage-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  return `${os.tmpdir()}/${name}.safetensors`;
}

interface Model {
  vars: Variable[];
  opt: Adagrad;
}

/** `w` of 1,000 floats (4,000 bytes, as in the report) and `b`, after one step. */
async function model(device: GPUDevice, seed: number, own: Own): Promise<Model> {
  const random = rng(seed);
  const store = own(new VariableStore(device));
  const vars = [
    store.variable("w", [250, 4], randomValues(random, 1000)),
    store.variable("b", [4], randomValues(random, 4)),
  ];
  const opt = own(new Adagrad({ learningRate: 0.05 }));
  await opt.applyGradients(vars.map((v) => [randomValues(random, v.length), v]));
  return { vars, opt };
}

const bits = (x: Float32Array) => Array.from(new Uint32Array(x.slice().buffer));

/** Everything a checkpoint of `m` holds, read through the public API. */
async function state(m: Model) {
  const out: Record<string, unknown> = { iterations: m.opt.iterations };
  for (const v of m.vars) {
    out[v.name] = bits(await v.read());
    out[`${v.name}/accumulator`] = bits(await m.opt.getSlot(v, "accumulator").read());
  }
  return out;
}

/** A safetensors file's header length and JSON header. */
function headerOf(bytes: Uint8Array): { length: number; json: Record<string, unknown> } {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { length, json: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) };
}

/** The tensors' entries of a header, in the order of their bytes. */
function byOffset(json: Record<string, unknown>) {
  type Entry = { data_offsets: [number, number] };
  return Object.entries(json)
    .filter(([name]) => name !== "__metadata__")
    .map(([name, t]) => ({ name, t: t as Entry }))
    .sort((a, b) => a.t.data_offsets[0] - b.t.data_offsets[0]);
}

/** What each damage does to a file, and what the message must say of it. */
interface Damage {
  what: string;
  file: Uint8Array;
  message: RegExp;
}

const escape = (s: string) => s.replace(/[/\\^$.*+?()[\]{}|]/g, "\\$&");

/** Three damaged copies of `bytes`: cut short, a header length past the file, overlapping ranges. */
function damaged(bytes: Uint8Array): Damage[] {
  const { length, json } = headerOf(bytes);
  const tensors = byOffset(json);
  const last = tensors[tensors.length - 1];
  const dataStart = 8 + length;

  const cut = bytes.subarray(0, bytes.length - 100);
  const truncated = new RegExp(
    `^safetensors: not a valid file: the file ends at byte ${cut.length}, but tensor ` +
      `'${escape(last.name)}' needs bytes up to ${bytes.length} \\(data_offsets ` +
      `\\[${last.t.data_offsets.join(", ")}\\] after a ${dataStart}-byte header\\); the file is ` +
      `truncated: 100 bytes are missing$`,
  );

  const longHeader = bytes.slice();
  new DataView(longHeader.buffer).setBigUint64(0, BigInt(bytes.length), true);
  const pastTheFile = new RegExp(
    `^safetensors: not a valid file: its first 8 bytes say the header \\(JSON\\) takes ` +
      `${bytes.length} bytes, up to byte ${bytes.length + 8}, but the file ends at byte ` +
      `${bytes.length}; the file is truncated, or its first 8 bytes are not a safetensors ` +
      `header length$`,
  );

  // The second tensor's range moved 4 bytes back, into the first one's; the file's length kept.
  const [first, second] = tensors;
  const [begin, end] = second.t.data_offsets;
  second.t.data_offsets = [begin - 4, end - 4];
  const text = new TextEncoder().encode(JSON.stringify(json));
  const padded = Math.ceil(text.length / 8) * 8;
  const overlapping = new Uint8Array(8 + padded + (bytes.length - dataStart)).fill(0x20, 8);
  new DataView(overlapping.buffer).setBigUint64(0, BigInt(padded), true);
  overlapping.set(text, 8);
  overlapping.set(bytes.subarray(dataStart), 8 + padded);
  const overlap = new RegExp(
    `^safetensors: not a valid file: tensors '${escape(first.name)}' \\(data_offsets ` +
      `\\[${first.t.data_offsets.join(", ")}\\]\\) and '${escape(second.name)}' ` +
      `\\(\\[${begin - 4}, ${end - 4}\\]\\) overlap in bytes \\[${begin - 4}, ${begin}\\) of ` +
      `the data$`,
  );
  return [
    { what: "a file cut 100 bytes short", file: cut, message: truncated },
    { what: "a header length past the file", file: longHeader, message: pastTheFile },
    { what: "tensors whose ranges overlap", file: overlapping, message: overlap },
  ];
}

test("the readers name a truncated file, a header past the file, overlapping ranges; nothing restored", async () => {
  await withDevice(async (device, own) => {
    const saved = await model(device, 1, own);
    const bytes = await saveCheckpoint({ variables: saved.vars, optimizer: saved.opt });
    const target = await model(device, 2, own);
    const before = await state(target);
    const targets = { variables: target.vars, optimizer: target.opt };
    const damages = damaged(bytes);
    // The issue's report was of this cut: "tensor 'w/accumulator' has byte range [4008, 8008),
    // expected 4000 bytes". The message now names the file's end and the last tensor's.
    const fs = fileSystem("test");
    const path = temporaryPath();
    try {
      for (const { what, file, message } of damages) {
        const error = { name: "TypeError", message };
        assert.throws(() => restoreCheckpoint(file, targets), error, `restoreCheckpoint: ${what}`);
        assert.throws(() => decodeSafetensors(file), error, `decodeSafetensors: ${what}`);
        await writeFileAtomic(path, file);
        await assert.rejects(restoreCheckpointFile(path, targets), error, `file: ${what}`);
        await assert.rejects(savedOptimizerConfigFile(path), error, `config file: ${what}`);
      }
    } finally {
      await fs.rm(path, { force: true });
    }
    assert.deepEqual(await state(target), before, "nothing was restored");
  });
});

test("restoreNonZeroRows names a truncated file, a header past the file, overlapping ranges", async () => {
  await withDevice(async (device, own) => {
    const saved = await model(device, 3, own);
    const bytes = await saveNonZeroRows(saved.vars);
    const target = await model(device, 4, own);
    const before = await Promise.all(target.vars.map(async (v) => bits(await v.read())));
    for (const { what, file, message } of damaged(bytes)) {
      assert.throws(
        () => restoreNonZeroRows(file, target.vars),
        { name: "TypeError", message },
        what,
      );
    }
    const after = await Promise.all(target.vars.map(async (v) => bits(await v.read())));
    assert.deepEqual(after, before, "nothing was restored");
  });
});
