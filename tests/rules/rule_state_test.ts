// The rules' state: checkpoints name their slots and counters by rule and refuse another rule's,
// a resumed run gives the numbers of an uninterrupted one (mid-accumulation, PyTorch's
// per-variable steps), and a Keras 3 or PyTorch state exported to safetensors loads. The runs
// compared moved the weights from their initial values (a step that did nothing would make every
// run equal).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Adagrad,
  type AdagradBase,
  AdagradDA,
  decodeSafetensors,
  encodeSafetensors,
  type GradientPair,
  importFrameworkState,
  ProximalAdagrad,
  restoreCheckpoint,
  RowWiseAdagrad,
  type SafetensorsEntry,
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
  opt: AdagradBase<object>;
  /** Each variable's initial values. */
  init: Float32Array[];
}

const SHAPES = [[300, 5], [257], [3]];
const make = {
  keras3: () =>
    Adagrad.keras3({
      learningRate: 0.1,
      gradientAccumulationSteps: 3,
      useEma: true,
      emaOverwriteFrequency: 2,
      weightDecay: 0.01,
    }),
  torch: () => Adagrad.torch({ lr: 0.1, lrDecay: 0.2, weightDecay: 0.01 }),
  proximal: () =>
    new ProximalAdagrad({ learningRate: 0.1, l1RegularizationStrength: 0.05, clipnorm: 10 }),
  adagradDA: () =>
    new AdagradDA({
      learningRate: 0.1,
      l1RegularizationStrength: 0.05,
      l2RegularizationStrength: 1,
    }),
  rowWise: () =>
    new RowWiseAdagrad({
      learningRate: 0.1,
      weightDecay: 0.1,
      weightDecayMode: "decoupled",
      maxNorm: 3,
    }),
};

function model(device: GPUDevice, rule: keyof typeof make, seed = 1): Model {
  const random = rng(seed);
  const store = new VariableStore(device);
  const init = SHAPES.map((shape) => randomValues(random, shape.reduce((a, b) => a * b, 1)));
  const vars = SHAPES.map((shape, i) => store.variable(`m${i}/w`, shape, init[i]));
  return { store, vars, opt: make[rule](), init };
}

/** Fails unless every variable of `m` moved from its initial values. */
async function assertVariablesMoved(m: Model, what: string): Promise<void> {
  for (const [i, v] of m.vars.entries()) {
    assertMoved(await v.read(), m.init[i], `${what} ${v.name}`);
  }
}

/** Call `call` of a fixed sequence; the last variable has no gradient on even calls. */
async function train(m: Model, call: number) {
  const random = rng(100 + call);
  const pairs: GradientPair[] = m.vars.map((v, i) => [
    i === 2 && call % 2 === 0 ? null : randomValues(random, v.length),
    v,
  ]);
  await skippingVariables(() => m.opt.applyGradients(pairs));
}

async function snapshot(m: Model) {
  const out: Record<string, number[]> = { calls: [(await m.opt.getWeights())[0]] };
  for (const v of m.vars) out[v.name] = Array.from(await v.read());
  for (const w of m.opt.weights) if ("read" in w) out[w.name] = Array.from(await w.read());
  return out;
}

for (const rule of ["keras3", "torch"] as const) {
  test(`${rule}: save mid-run, restore on fresh objects, resume: an uninterrupted run's numbers`, async () => {
    await withDevice(async (device) => {
      const whole = model(device, rule);
      for (let call = 0; call < 8; call++) await train(whole, call);
      const first = model(device, rule);
      for (let call = 0; call < 4; call++) await train(first, call); // mid-accumulation (3)
      const bytes = await saveCheckpoint({ variables: first.vars, optimizer: first.opt });
      const file = decodeSafetensors(bytes);
      assert.equal(file.metadata.optimizer_rule, rule);
      const names = [...file.tensors.keys()];
      if (rule === "keras3") {
        assert.ok(names.includes("adagrad/iteration"), names.join());
        for (const slot of ["accumulator", "average", "gradient_accumulator"]) {
          assert.ok(names.includes(`m0/w/${slot}`), slot);
        }
      } else {
        assert.deepEqual(names.filter((n) => n.endsWith("/step")).sort(), [
          "m0/w/step",
          "m1/w/step",
          "m2/w/step",
        ]);
        assert.ok(names.includes("m0/w/sum") && names.includes("Adagrad/iter"));
        // The last variable missed the even calls: PyTorch's step counts its own updates.
        const step = new Float32Array(file.tensors.get("m2/w/step")!.data.slice().buffer)[0];
        assert.equal(step, 2);
      }
      first.opt.destroy();
      first.store.destroy();
      const second = model(device, rule, 99); // other initial values: all come from the file
      restoreCheckpoint(bytes, { variables: second.vars, optimizer: second.opt });
      for (let call = 4; call < 8; call++) await train(second, call);
      assert.deepEqual(await snapshot(second), await snapshot(whole));
      await assertVariablesMoved(whole, rule);
      for (const m of [whole, second]) {
        m.opt.destroy();
        m.store.destroy();
      }
    });
  });
}

test("a checkpoint of one rule refuses to load into another, naming both; nothing changes", async () => {
  await withDevice(async (device) => {
    const rules = ["keras3", "torch"] as const;
    for (const from of rules) {
      const saved = model(device, from);
      await train(saved, 1);
      const bytes = await saveCheckpoint({ variables: saved.vars, optimizer: saved.opt });
      const targets = [
        { name: "Keras 2", opt: new Adagrad({ learningRate: 0.1 }) as Adagrad<object> },
        {
          name: from === "keras3" ? "PyTorch" : "Keras 3",
          opt: make[from === "keras3" ? "torch" : "keras3"](),
        },
      ];
      for (const { name, opt } of targets) {
        const target = model(device, from, 7);
        await opt.applyGradients(target.vars.map((v) => [randomValues(rng(3), v.length), v]));
        const before = { ...(await snapshot({ ...target, opt })), iterations: [opt.iterations] };
        assert.throws(
          () => restoreCheckpoint(bytes, { variables: target.vars, optimizer: opt }),
          (e: Error) =>
            e instanceof TypeError &&
            e.message.includes(from === "keras3" ? "Keras 3" : "PyTorch") &&
            e.message.includes(name) &&
            e.message.includes(from === "keras3" ? "keras3FromConfig" : "torchFromConfig"),
        );
        assert.deepEqual(
          { ...(await snapshot({ ...target, opt })), iterations: [opt.iterations] },
          before,
        );
        opt.destroy();
        target.opt.destroy();
        target.store.destroy();
      }
      // The saved config builds an optimizer of the saved rule, which takes the checkpoint.
      const config = savedOptimizerConfig(bytes)!;
      const rebuilt = from === "keras3"
        ? Adagrad.keras3FromConfig(config)
        : Adagrad.torchFromConfig(config);
      const fresh = model(device, from, 8);
      restoreCheckpoint(bytes, { variables: fresh.vars, optimizer: rebuilt });
      assert.deepEqual(await snapshot({ ...fresh, opt: rebuilt }), await snapshot(saved));
      // One call: Keras 3's accumulation (3 calls) has only added it to its slot so far.
      if (from === "keras3") {
        const slot = saved.opt.getSlot(saved.vars[0], "gradient_accumulator");
        assertMoved(await slot.read(), 0, "keras3 gradient_accumulator");
      } else await assertVariablesMoved(saved, from);
      for (const o of [rebuilt, fresh.opt, saved.opt]) o.destroy();
      fresh.store.destroy();
      saved.store.destroy();
    }
  });
});

const f32 = (data: Float32Array, shape: number[]): SafetensorsEntry => ({
  dtype: "F32",
  shape,
  data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
});
const scalar = (value: number, dtype: "I64" | "F32"): SafetensorsEntry => ({
  dtype,
  shape: [],
  data: new Uint8Array(
    dtype === "I64" ? new BigInt64Array([BigInt(value)]).buffer : new Float32Array([value]).buffer,
  ),
});

test("importFrameworkState: Keras 3's and PyTorch's own names, exported to safetensors", async () => {
  await withDevice(async (device) => {
    for (const rule of ["keras3", "torch"] as const) {
      // A run here stands in for the framework's: its state, renamed as the framework names it.
      const source = model(device, rule);
      for (let call = 0; call < 4; call++) await train(source, call);
      const tensors = new Map<string, SafetensorsEntry>();
      const values = await Promise.all(source.vars.map((v) => v.read()));
      if (rule === "keras3") {
        tensors.set("adagrad/iteration", scalar(4, "I64"));
        tensors.set("adagrad/learning_rate", f32(new Float32Array([0.1]), []));
        for (const v of source.vars) {
          for (const slot of source.opt.getSlotNames()) {
            const path = v.name.replaceAll("/", "_");
            tensors.set(
              `adagrad/${path}_${slot}`,
              f32(await source.opt.getSlot(v, slot).read(), [...v.shape]),
            );
          }
        }
      } else {
        source.vars.forEach((_, i) =>
          tensors.set(`state.${i}.step`, scalar(i === 2 ? 2 : 4, "F32"))
        );
        for (const [i, v] of source.vars.entries()) {
          tensors.set(
            `state.${i}.sum`,
            f32(await source.opt.getSlot(v, "sum").read(), [...v.shape]),
          );
        }
      }
      const bytes = encodeSafetensors(tensors);
      const target = model(device, rule, 5);
      target.vars.forEach((v, i) => v.write(values[i]));
      // A tensor too many or too few is refused, and nothing is written.
      const extra = new Map(tensors).set("stray", scalar(1, "F32"));
      assert.throws(
        () =>
          importFrameworkState(
            encodeSafetensors(extra),
            { optimizer: target.opt, variables: target.vars },
          ),
        /claims: stray/,
      );
      assert.throws(
        () => target.opt.getSlot(target.vars[0], rule === "torch" ? "sum" : "accumulator"),
        RangeError,
      );
      importFrameworkState(bytes, { optimizer: target.opt, variables: target.vars });
      for (let call = 4; call < 7; call++) {
        await train(source, call);
        await train(target, call);
      }
      // PyTorch keeps no count of the optimizer's own: only the variables' steps carry over.
      const { calls: _a, ...got } = await snapshot(target);
      const { calls: _b, ...expected } = await snapshot(source);
      assert.deepEqual(
        rule === "torch" ? got : await snapshot(target),
        rule === "torch" ? expected : await snapshot(source),
        rule,
      );
      await assertVariablesMoved(source, rule);
      for (const m of [source, target]) {
        m.opt.destroy();
        m.store.destroy();
      }
    }
    assert.throws(
      () =>
        importFrameworkState(encodeSafetensors(new Map()), {
          optimizer: new Adagrad(),
          variables: [],
        }),
      /Keras 2's rule/,
    );
  });
});

const FAMILY_SLOTS = {
  proximal: ["accumulator"],
  adagradDA: ["gradient_accumulator", "gradient_squared_accumulator"],
  rowWise: ["accumulator"],
};

for (const kind of ["proximal", "adagradDA", "rowWise"] as const) {
  test(`${kind}: save mid-run, restore on fresh objects, resume: an uninterrupted run's numbers; config round trip`, async () => {
    await withDevice(async (device) => {
      const whole = model(device, kind);
      for (let call = 0; call < 6; call++) await train(whole, call);
      const first = model(device, kind);
      for (let call = 0; call < 3; call++) await train(first, call);
      const bytes = await saveCheckpoint({ variables: first.vars, optimizer: first.opt });
      const file = decodeSafetensors(bytes);
      const names = [...file.tensors.keys()];
      for (const slot of FAMILY_SLOTS[kind]) assert.ok(names.includes(`m0/w/${slot}`), slot);
      assert.equal(file.metadata.optimizer_rule, first.opt.rule);
      // The config saved rebuilds the optimizer, whose config is the same.
      const config = savedOptimizerConfig(bytes);
      const Class = first.opt.constructor as unknown as {
        fromConfig(c: unknown): AdagradBase<object>;
      };
      assert.deepEqual(Class.fromConfig(config).getConfig(), first.opt.getConfig());
      first.opt.destroy();
      first.store.destroy();
      const second = model(device, kind, 99);
      restoreCheckpoint(bytes, { variables: second.vars, optimizer: second.opt });
      for (let call = 3; call < 6; call++) await train(second, call);
      assert.deepEqual(await snapshot(second), await snapshot(whole));
      await assertVariablesMoved(whole, kind);
      // Another class's state is refused, naming both.
      const other = kind === "adagradDA"
        ? model(device, "proximal", 5)
        : model(device, "adagradDA", 5);
      assert.throws(
        () => restoreCheckpoint(bytes, { variables: other.vars, optimizer: other.opt }),
        {
          name: "TypeError",
          message:
            /holds an? \w+'s state, not an? \w+'s; build an? \w+ from its saved settings \(\w+\.fromConfig/,
        },
      );
      for (const m of [whole, second, other]) {
        m.opt.destroy();
        m.store.destroy();
      }
    });
  });
}

test("another class's checkpoint names the saved rule's factory (keras3FromConfig, torchFromConfig)", async () => {
  await withDevice(async (device) => {
    for (
      const [rule, factory] of [["keras3", "keras3FromConfig"], [
        "torch",
        "torchFromConfig",
      ]] as const
    ) {
      const saved = model(device, rule);
      await train(saved, 0);
      const bytes = await saveCheckpoint({ variables: saved.vars, optimizer: saved.opt });
      const target = model(device, "proximal", 2);
      assert.throws(
        () => restoreCheckpoint(bytes, { variables: target.vars, optimizer: target.opt }),
        {
          name: "TypeError",
          message: new RegExp(
            `holds an Adagrad's state, not a ProximalAdagrad's; .*Adagrad\\.${factory}\\(`,
          ),
        },
      );
      for (const m of [saved, target]) {
        m.opt.destroy();
        m.store.destroy();
      }
    }
  });
});
