// Checkpoints: safetensors files keyed by name; a round trip is bit-exact, training resumed from
// one gives the numbers of an uninterrupted run (whose weights moved: a step that did nothing
// would make every run equal), and a restore that does not fit changes nothing;
// a restore into an optimizer of other settings is refused, naming each, unless asked to keep or
// adopt them.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Adagrad,
  decodeSafetensors,
  encodeSafetensors,
  IndexedSlices,
  restoreCheckpoint,
  RowWiseAdagrad,
  saveCheckpoint,
  savedOptimizerConfig,
  type Variable,
  VariableStore,
} from "../../mod.ts";
import { withDevice } from "../_gpu.ts";
import { assertMoved } from "../_moved.ts";
import { randomValues, rng } from "../_reference.ts";
import { skippingVariables } from "../_console.ts";

interface Model {
  store: VariableStore;
  vars: Variable[];
  opt: Adagrad;
  /** Each variable's initial values. */
  init: Float32Array[];
}

function model(device: GPUDevice, seed: number, rowWise = false): Model {
  const random = rng(seed);
  const store = new VariableStore(device);
  const init = [3000, 111, 3].map((n) => randomValues(random, n));
  const vars = [
    store.variable("emb/table", [500, 6], init[0]),
    store.variable("dense/kernel", [37, 3], init[1]),
    store.variable("dense/bias", [3], init[2]),
  ];
  const options = { learningRate: 0.05, clipnorm: 2, decay: 0.01 };
  const opt = rowWise ? new RowWiseAdagrad(options) : new Adagrad(options);
  return { store, vars, opt, init };
}

/** Step `step` of a fixed gradient sequence: sparse for the table, dense for the rest. */
async function train(m: Model, step: number) {
  const random = rng(1000 + step);
  const indices = Int32Array.from({ length: 80 }, () => Math.floor(random() * 60));
  await skippingVariables(() =>
    m.opt.applyGradients([
      [new IndexedSlices(randomValues(random, 80 * 6), indices, [500, 6]), m.vars[0]],
      [randomValues(random, 111), m.vars[1]],
      // The bias gets no gradient on the first two steps, so its slot appears late.
      [step >= 2 ? randomValues(random, 3) : null, m.vars[2]],
    ])
  );
}

async function state(m: Model) {
  const out: Record<string, Float32Array | number> = { iterations: m.opt.iterations };
  for (const v of m.vars) out[v.name] = await v.read();
  for (const w of m.opt.weights) if ("read" in w) out[w.name] = await w.read();
  return out;
}

for (const rowWise of [false, true]) {
  const kind = rowWise ? "RowWiseAdagrad" : "Adagrad";
  test(`${kind}: save, restore on fresh objects, resume: the numbers of an uninterrupted run`, async () => {
    await withDevice(async (device) => {
      const straight = model(device, 1, rowWise);
      for (let step = 0; step < 6; step++) await train(straight, step);

      const first = model(device, 1, rowWise);
      for (let step = 0; step < 3; step++) await train(first, step);
      const bytes = await saveCheckpoint({ variables: first.vars, optimizer: first.opt }, {
        note: "halfway",
      });
      const before = await state(first);

      // Fresh store and optimizer with other initial values: everything comes from the file.
      const second = model(device, 99, rowWise);
      restoreCheckpoint(bytes, { variables: second.vars, optimizer: second.opt });
      assert.deepEqual(await state(second), before, "the round trip is bit-exact");
      for (let step = 3; step < 6; step++) await train(second, step);
      assert.deepEqual(await state(second), await state(straight), "resumed = uninterrupted");
      for (const [k, v] of straight.vars.entries()) {
        assertMoved(await v.read(), straight.init[k], v.name);
      }

      // Other tools read it as a plain safetensors file, with Keras-style names.
      const file = decodeSafetensors(bytes);
      assert.equal(file.metadata.format, "webgpu-adagrad/1");
      assert.equal(file.metadata.note, "halfway");
      assert.equal(file.metadata.optimizer_class, kind);
      assert.deepEqual(JSON.parse(file.metadata.optimizer_config), first.opt.getConfig());
      assert.deepEqual([...file.tensors.keys()], [
        "emb/table",
        "dense/kernel",
        "dense/bias",
        `${first.opt.name}/iter`,
        "emb/table/accumulator",
        "dense/kernel/accumulator",
        "dense/bias/accumulator",
      ]);
      assert.deepEqual(
        file.tensors.get("emb/table/accumulator")!.shape,
        rowWise ? [500] : [500, 6],
      );
      for (const m of [straight, first, second]) {
        m.opt.destroy();
        m.store.destroy();
      }
    });
  });
}

test("a restore that does not fit throws before anything changes", async () => {
  await withDevice(async (device) => {
    const saved = model(device, 2);
    for (let step = 0; step < 3; step++) await train(saved, step);
    const bytes = await saveCheckpoint({ variables: saved.vars, optimizer: saved.opt });
    const target = model(device, 3);
    await train(target, 0);
    const before = await state(target);

    const other = new VariableStore(device);
    const wrongShape = other.variable("dense/kernel", [111], 0);
    const missing = other.variable("not/saved", [3], 0);
    const edit = (
      fn: (
        t: Map<
          string,
          ReturnType<typeof decodeSafetensors>["tensors"] extends Map<string, infer E> ? E : never
        >,
      ) => void,
    ) => {
      const file = decodeSafetensors(bytes);
      fn(file.tensors);
      return encodeSafetensors(file.tensors, file.metadata);
    };
    const cases: [string, Uint8Array, Parameters<typeof restoreCheckpoint>[1], RegExp][] = [
      ["a variable of another shape", bytes, {
        variables: [target.vars[0], wrongShape, target.vars[2]],
        optimizer: target.opt,
      }, /tensor 'dense\/kernel' is F32 \[37, 3\], but variable 'dense\/kernel' needs F32 \[111\]/],
      ["a variable the file lacks", bytes, {
        variables: [...target.vars, missing],
        optimizer: target.opt,
      }, /the checkpoint has no tensor 'not\/saved'/],
      ["tensors nobody claims", bytes, {
        variables: target.vars.slice(0, 2),
        optimizer: target.opt,
      }, /nothing here claims: dense\/bias, dense\/bias\/accumulator/],
      [
        "another optimizer class",
        bytes,
        {
          variables: target.vars,
          optimizer: new RowWiseAdagrad({ name: "Adagrad" }),
        },
        /holds an Adagrad's state, not a RowWiseAdagrad's; build an Adagrad from its saved settings/,
      ],
      [
        "a dtype that differs",
        edit((t) => {
          const e = t.get("dense/bias")!;
          t.set("dense/bias", { dtype: "I32", shape: e.shape, data: e.data });
        }),
        { variables: target.vars, optimizer: target.opt },
        /is I32 \[3\], but variable 'dense\/bias' needs F32/,
      ],
      [
        "a truncated file",
        bytes.subarray(0, bytes.length - 4),
        { variables: target.vars },
        /not a valid file/,
      ],
      [
        "not a checkpoint",
        encodeSafetensors(new Map()),
        { variables: target.vars },
        /not a webgpu-adagrad\/1 checkpoint/,
      ],
    ];
    for (const [what, file, targets, message] of cases) {
      assert.throws(() => restoreCheckpoint(file, targets), { name: "TypeError", message }, what);
    }
    assert.deepEqual(await state(target), before, "nothing changed");
    for (const m of [saved, target]) {
      m.opt.destroy();
      m.store.destroy();
    }
    other.destroy();
  });
});

/** A fixed gradient of `n` elements, different for each seed. */
const gradient = (n: number, seed: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(seed + 1.7 * i) / 2);

test("a restore into other settings is refused, naming each; keep or adopt them on request", async () => {
  await withDevice(async (device, own) => {
    const store = own(new VariableStore(device));
    const w = store.variable("w", [6], gradient(6, 1));
    const saver = own(new Adagrad({ learningRate: 0.1, clipnorm: 1 }));
    for (let k = 0; k < 2; k++) await saver.applyGradients([[gradient(6, 2 + k), w]]);
    const bytes = await saveCheckpoint({ variables: [w], optimizer: saver });
    const saved = { w: await w.read(), acc: await saver.getSlot(w, "accumulator").read() };

    const target = own(new VariableStore(device));
    const v = target.variable("w", [6], 0.5);
    const other = own(new Adagrad({ learningRate: 0.5 }));
    await other.applyGradients([[gradient(6, 9), v]]);
    const before = { v: await v.read(), acc: await other.getSlot(v, "accumulator").read() };
    assert.throws(() => restoreCheckpoint(bytes, { variables: [v], optimizer: other }), {
      name: "TypeError",
      message:
        /optimizer 'Adagrad' has other settings than the checkpoint's: clipnorm unset here, 1 saved; learning_rate 0.5 here, 0.1 saved\. Pass \{ settings: "keep" \}.*Adagrad\.fromConfig\(savedOptimizerConfig\(bytes\)\)/,
    });
    assert.equal(other.iterations, 1, "the refusal changed nothing");
    assert.deepEqual(await v.read(), before.v);
    assert.deepEqual(await other.getSlot(v, "accumulator").read(), before.acc);
    assert.throws(
      () =>
        restoreCheckpoint(bytes, { variables: [v], optimizer: other }, {
          settings: "adopt" as "keep",
        }),
      { name: "TypeError", message: /settings must be "refuse" or "keep"/ },
    );

    // Keras's way: the state, this optimizer's settings.
    restoreCheckpoint(bytes, { variables: [v], optimizer: other }, { settings: "keep" });
    assert.equal(other.iterations, 2);
    assert.equal(other.learningRate, 0.5);
    assert.deepEqual(await other.getSlot(v, "accumulator").read(), saved.acc);
    // PyTorch's way: an optimizer built from the saved settings.
    const adopted = own(Adagrad.fromConfig(savedOptimizerConfig(bytes)!));
    restoreCheckpoint(bytes, { variables: [v], optimizer: adopted });
    assert.equal(adopted.clipnorm, 1);
    assert.deepEqual(await v.read(), saved.w);

    // A checkpoint from before the settings were compared (no optimizer_config) still loads.
    const file = decodeSafetensors(bytes);
    const { optimizer_config: _, ...metadata } = file.metadata;
    const older = encodeSafetensors(file.tensors, metadata);
    const fresh = own(new Adagrad({ learningRate: 0.5 }));
    restoreCheckpoint(older, { variables: [v], optimizer: fresh });
    assert.equal(fresh.iterations, 2);
  });
});

test("safetensors: the header layout, and malformed files refused", () => {
  const data = new Uint8Array(new Float32Array([1, 2, 3]).buffer);
  const bytes = encodeSafetensors(new Map([["a", { dtype: "F32", shape: [3], data }]]), { k: "v" });
  const length = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(length % 8, 0, "the header is padded to 8 bytes");
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
  assert.deepEqual(header, {
    __metadata__: { k: "v" },
    a: { dtype: "F32", shape: [3], data_offsets: [0, 12] },
  });
  assert.deepEqual([...bytes.subarray(8 + length)], [...data]);
  const withHeader = (h: unknown, body = 12) => {
    const json = new TextEncoder().encode(JSON.stringify(h));
    const out = new Uint8Array(8 + json.length + body);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    return out;
  };
  for (
    const [what, file, cause] of [
      [
        "overlap",
        withHeader({
          a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
          b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
        }),
        /tensors 'a' \(data_offsets \[0, 8\]\) and 'b' \(\[4, 12\]\) overlap in bytes \[4, 8\)/,
      ],
      [
        "gap",
        withHeader({ a: { dtype: "F32", shape: [1], data_offsets: [4, 8] } }, 8),
        /bytes \[0, 4\) of the data, before tensor 'a', belong to no tensor/,
      ],
      [
        "wrong size",
        withHeader({ a: { dtype: "F32", shape: [2], data_offsets: [0, 12] } }),
        /tensor 'a' is F32 \[2\], which takes 8 bytes, but its data_offsets \[0, 12\] span 12/,
      ],
      [
        "unknown dtype",
        withHeader({ a: { dtype: "F33", shape: [3], data_offsets: [0, 12] } }),
        /tensor 'a' has a malformed entry: its dtype "F33" is not one of F64/,
      ],
      [
        "reversed range",
        withHeader({ a: { dtype: "F32", shape: [0], data_offsets: [12, 0] } }),
        /its data_offsets \[12,0\] are not a byte range/,
      ],
      [
        "metadata not an object",
        withHeader({ __metadata__: null, a: { dtype: "F32", shape: [3], data_offsets: [0, 12] } }),
        /__metadata__ is null, not an object of strings/,
      ],
      ["not JSON", new Uint8Array([4, 0, 0, 0, 0, 0, 0, 0, 123, 123, 0, 0]), /header is not JSON/],
      ["too short", new Uint8Array(3), /the file is 3 bytes long, shorter than the 8-byte/],
    ] as const
  ) {
    assert.throws(() => decodeSafetensors(file as Uint8Array), {
      name: "TypeError",
      message: new RegExp(`^safetensors: not a valid file: .*${cause.source}`),
    }, what);
  }
});
