// Bad input: a clear error of the right class, thrown before anything is written or encoded, so
// every variable, gradient region, accumulator and the iteration count keep their bits. Bad calls
// of the step, the optimizers' and the store's arguments, and two variables of one name in one
// optimizer.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  Adagrad,
  ExponentialDecay,
  RowWiseAdagrad,
  type Variable,
  VariableStore,
} from "../../mod.ts";
import { COPY_DST, COPY_SRC, STORAGE } from "../../src/_common/usage.ts";
import { type Own, sharedDevice, Snapshot, withDevice } from "../_gpu.ts";
import { randomValues, rng } from "../_reference.ts";

interface Fixture {
  device: GPUDevice;
  own: Own; // what the cases create is destroyed with the fixture, when the test ends
  store: VariableStore;
  opt: Adagrad;
  w: Variable;
  b: Variable;
}

async function fixture(device: GPUDevice, own: Own): Promise<Fixture> {
  const random = rng(11);
  const store = own(new VariableStore(device));
  const w = store.variable("dense/kernel", [5], randomValues(random, 5));
  const b = store.variable("dense/bias", [3], randomValues(random, 3));
  const opt = own(new Adagrad({ learningRate: 0.1 }));
  device.queue.writeBuffer(w.grad.buffer, w.grad.offset, randomValues(random, 5));
  device.queue.writeBuffer(b.grad.buffer, b.grad.offset, randomValues(random, 3));
  await opt.applyGradients([[w.grad, w], [b.grad, b]]);
  return { device, own, store, opt, w, b };
}

async function state(f: Fixture) {
  const s = new Snapshot(f.device);
  const slot = (v: Variable) => f.opt.getSlot(v, "accumulator").region;
  return {
    iterations: f.opt.iterations,
    lr: f.opt.learningRate,
    data: await Promise.all(
      [f.w, f.b, f.w.grad, f.b.grad, slot(f.w), slot(f.b)].map((r) => s.slice(r)),
    ),
  };
}

type Case = {
  name: string;
  error: typeof TypeError | typeof RangeError | typeof Error;
  message: RegExp;
  run: (f: Fixture) => unknown;
};

const otherBuffer = (f: Fixture, size: number, usage = STORAGE | COPY_SRC | COPY_DST) =>
  f.own(f.device.createBuffer({ size, usage }));

const CASES: Case[] = [
  {
    name: "pairs not iterable",
    error: TypeError,
    message: /iterable of \[gradient, variable\]/,
    run: (f) => f.opt.applyGradients(5 as never),
  },
  {
    name: "pair not [g, v]",
    error: TypeError,
    message: /pair 1 must be \[gradient, variable\]/,
    run: (f) => f.opt.applyGradients([[f.w.grad, f.w], [f.b] as never]),
  },
  {
    name: "Float32Array of the wrong length, after a valid pair",
    error: TypeError,
    message: /gradient for variable 'dense\/bias' has 4 elements, expected 3/,
    run: (f) =>
      f.opt.applyGradients([[new Float32Array(5).fill(1), f.w], [new Float32Array(4), f.b]]),
  },
  {
    name: "Float64Array gradient",
    error: TypeError,
    message: /gradient for variable 'dense\/kernel' must be a Float32Array.*Float64Array/,
    run: (f) => f.opt.applyGradients([[new Float64Array(5) as never, f.w]]),
  },
  {
    name: "plain array gradient",
    error: TypeError,
    message: /must be a Float32Array.*array of length 5/,
    run: (f) => f.opt.applyGradients([[[1, 2, 3, 4, 5] as never, f.w]]),
  },
  {
    name: "a Variable as gradient",
    error: TypeError,
    message: /is a Variable; pass its gradient region/,
    run: (f) => f.opt.applyGradients([[f.b as never, f.b]]),
  },
  {
    name: "GPU binding of the wrong size",
    error: TypeError,
    message: /'dense\/kernel' covers 16 bytes, expected 20/,
    run: (f) => f.opt.applyGradients([[{ buffer: otherBuffer(f, 64), size: 16 }, f.w]]),
  },
  {
    name: "GPU binding at an unaligned offset",
    error: RangeError,
    message: /offset must be a non-negative multiple of 4, got 2/,
    run: (f) => f.opt.applyGradients([[{ buffer: otherBuffer(f, 64), offset: 2, size: 20 }, f.w]]),
  },
  {
    name: "GPU binding out of its buffer",
    error: RangeError,
    message: /bytes \[48, 68\) lie outside the buffer \(64 bytes\)/,
    run: (f) => f.opt.applyGradients([[{ buffer: otherBuffer(f, 64), offset: 48, size: 20 }, f.w]]),
  },
  {
    name: "gradient buffer without COPY_SRC",
    error: TypeError,
    message: /needs GPUBufferUsage.COPY_SRC/,
    run: (f) => f.opt.applyGradients([[otherBuffer(f, 20, STORAGE), f.w]]),
  },
  {
    name: "another variable's region in the same gradient arena",
    error: TypeError,
    message: /same gradient arena at another offset/,
    run: (f) =>
      f.opt.applyGradients([[{ buffer: f.w.grad.buffer, offset: f.w.grad.offset, size: 12 }, f.b]]),
  },
  {
    name: "the same variable twice",
    error: TypeError,
    message: /'dense\/bias' appears more than once/,
    run: (f) => f.opt.applyGradients([[f.b.grad, f.b], [new Float32Array(3), f.b]]),
  },
  {
    name: "every gradient missing",
    error: RangeError,
    message: /^No gradients provided for any variable: \['dense\/kernel', 'dense\/bias'\]\.$/,
    run: (f) => f.opt.applyGradients([[null, f.w], [undefined, f.b]]),
  },
  {
    name: "variable of the wrong type",
    error: TypeError,
    message:
      /the variable must be a Variable, a GPUBuffer or \{ buffer, offset\?, size\? \}, got an object/,
    run: (f) => f.opt.applyGradients([[new Float32Array(1), { name: "x" } as never]]),
  },
  {
    name: "a store buffer passed as a bare binding",
    error: TypeError,
    message: /belongs to a VariableStore; pass the Variable itself/,
    run: (f) =>
      f.opt.applyGradients([[new Float32Array(5), {
        buffer: f.w.buffer,
        offset: f.w.offset,
        size: 20,
      }]]),
  },
  {
    name: "external buffer without STORAGE",
    error: TypeError,
    message: /variable 'x': its buffer needs GPUBufferUsage.STORAGE/,
    run: (f) =>
      f.opt.applyGradients([[new Float32Array(4), {
        buffer: otherBuffer(f, 16, COPY_SRC),
        name: "x",
      }]]),
  },
  {
    name: "overlapping external variables",
    error: RangeError,
    message: /variable 'q' \(bytes 8\.\.24\) overlaps variable 'p'/,
    run: (f) => {
      const buffer = otherBuffer(f, 64);
      return f.opt.applyGradients([
        [new Float32Array(4), { buffer, offset: 0, size: 16, name: "p" }],
        [new Float32Array(4), { buffer, offset: 8, size: 16, name: "q" }],
      ]);
    },
  },
  {
    name: "a variable of another device",
    error: TypeError,
    message: /'elsewhere' lives on another GPUDevice/,
    run: async (f) => {
      // The suite's other shared device (adapter limits) is a distinct GPUDevice.
      const other = await sharedDevice("adapter");
      assert.notEqual(other, f.device);
      const v = f.own(new VariableStore(other)).variable("elsewhere", [2], 1);
      await f.opt.applyGradients([[f.w.grad, f.w], [new Float32Array(2), v]]);
    },
  },
  {
    name: "a variable of a destroyed store",
    error: TypeError,
    message: /variable 'gone' belongs to a destroyed VariableStore/,
    run: (f) => {
      const s = new VariableStore(f.device, { label: "doomed" });
      const v = s.variable("gone", [2], 1);
      s.destroy();
      return f.opt.applyGradients([[f.w.grad, f.w], [new Float32Array(2), v]]);
    },
  },
  {
    name: "a gradient buffer destroyed by its owner (rejected by the GPU)",
    error: Error,
    message: /the GPU rejected the step/,
    run: (f) => {
      const g = otherBuffer(f, 12);
      g.destroy();
      return f.opt.applyGradients([[f.w.grad, f.w], [g, f.b]]);
    },
  },
  {
    name: "learningRate set to Infinity",
    error: RangeError,
    message: /learningRate must be finite, got Infinity/,
    run: (f) => {
      f.opt.learningRate = Infinity;
    },
  },
  {
    name: "iterations set to -1",
    error: RangeError,
    message: /iterations must be a non-negative integer/,
    run: (f) => {
      f.opt.iterations = -1;
    },
  },
  {
    name: "variable.write of the wrong length",
    error: TypeError,
    message: /variable 'dense\/kernel': expected 5 values, got 4/,
    run: (f) => f.w.write(new Float32Array(4)),
  },
  {
    name: "variable.write of NaN",
    error: RangeError,
    message: /value must be finite, got NaN/,
    run: (f) => f.w.write(NaN),
  },
  {
    name: "slot.write of the wrong length",
    error: TypeError,
    message: /slot 'dense\/bias\/accumulator': expected 3 values, got 5/,
    run: (f) => f.opt.getSlot(f.b, "accumulator").write(new Float32Array(5)),
  },
  {
    name: "unknown slot name",
    error: RangeError,
    message: /Adagrad has no slot 'momentum'/,
    run: (f) => f.opt.getSlot(f.w, "momentum"),
  },
];

test("every bad applyGradients / write call throws the right error and changes nothing", async () => {
  await withDevice(async (device, own) => {
    const f = await fixture(device, own);
    for (const c of CASES) {
      const before = await state(f);
      // Both synchronous throws and rejected promises count.
      await assert.rejects(
        async () => await c.run(f),
        (e: Error) => {
          assert.ok(
            e.constructor === c.error,
            `${c.name}: got ${e.constructor.name}: ${e.message}`,
          );
          assert.match(e.message, c.message, c.name);
          return true;
        },
        c.name,
      );
      assert.deepEqual(await state(f), before, `${c.name}: state changed`);
    }
    // The optimizer still works after all of that.
    await f.opt.applyGradients([[f.w.grad, f.w]]);
    assert.equal(f.opt.iterations, 2);
  });
});

/** A fixed gradient of `n` elements, different for each seed. */
const gradient = (n: number, seed: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(seed + 1.7 * i) / 2);

test("two variables of one name in one optimizer are refused at the step, naming both stores", async () => {
  await withDevice(async (device, own) => {
    const a = own(new VariableStore(device, { label: "encoder" }));
    const b = own(new VariableStore(device, { label: "decoder" }));
    const wa = a.variable("dense/kernel", [4], gradient(4, 1));
    const wb = b.variable("dense/kernel", [4], gradient(4, 2));
    const opt = own(new Adagrad({ learningRate: 0.1 }));
    const clash =
      /variable 'dense\/kernel' of VariableStore 'decoder' has the name of another variable this optimizer updates, of VariableStore 'encoder'/;
    // In one step, and across steps (the first one was updated before).
    await assert.rejects(opt.applyGradients([[gradient(4, 3), wa], [gradient(4, 4), wb]]), {
      name: "TypeError",
      message: clash,
    });
    assert.equal(opt.iterations, 0);
    assert.equal(opt.weights.length, 1, "no slot was made");
    await opt.applyGradients([[gradient(4, 3), wa]]);
    const before = [await wa.read(), await wb.read()];
    await assert.rejects(opt.applyGradients([[gradient(4, 4), wb]]), { message: clash });
    assert.deepEqual([await wa.read(), await wb.read()], before);
    assert.equal(opt.iterations, 1);
    // Two unlabelled stores: the message says they share a label.
    const c = own(new VariableStore(device));
    const d = own(new VariableStore(device));
    const other = own(new Adagrad({ learningRate: 0.1 }));
    await assert.rejects(
      other.applyGradients([
        [gradient(2, 1), c.variable("bias", [2], 0)],
        [gradient(2, 2), d.variable("bias", [2], 0)],
      ]),
      { message: /another VariableStore also labelled 'webgpu-adagrad'/ },
    );
  });
});

test("a learning rate passed positionally, as Keras allows, is refused with the named form", () => {
  const schedule = new ExponentialDecay(0.1, 100, 0.9);
  const cases: [() => unknown, RegExp][] = [
    [
      () => new Adagrad(0.01 as never),
      /^Adagrad: options must be an object, got number 0\.01; name the learning rate: \{ learningRate: 0\.01 \}$/,
    ],
    [
      () => new RowWiseAdagrad(0.5 as never),
      /got number 0\.5; name the learning rate: \{ learningRate: 0\.5 \}$/,
    ],
    [() => new Adagrad(schedule as never), /name the learning rate: \{ learningRate: schedule \}$/],
    [
      () => new RowWiseAdagrad(schedule as never),
      /name the learning rate: \{ learningRate: schedule \}$/,
    ],
    [
      () => new Adagrad("0.01" as never),
      /got the string "0\.01"; for example: \{ learningRate: 0\.01 \}$/,
    ],
  ];
  for (const [fn, message] of cases) {
    assert.throws(fn, (e: Error) => e.constructor === TypeError && message.test(e.message));
  }
});

test("constructor and store arguments are checked with Keras's wording", async () => {
  const bad: [() => unknown, typeof Error, RegExp][] = [
    [() => new Adagrad({ learningRate: NaN }), RangeError, /learningRate must be finite, got NaN/],
    [
      () => new Adagrad({ learningRate: "0.1" as never }),
      TypeError,
      /learningRate must be a number/,
    ],
    [
      () => new Adagrad({ initialAccumulatorValue: -1 }),
      RangeError,
      /^initial_accumulator_value must be non-negative: -1$/,
    ],
    [() => new Adagrad({ decay: -0.5 }), RangeError, /^decay cannot be less than 0: -0.5$/],
    [() => new Adagrad({ epsilon: -1 }), RangeError, /epsilon must be non-negative/],
    [
      () => new Adagrad({ momentum: 0.9 } as never),
      TypeError,
      /^Unexpected keyword argument passed to optimizer: momentum\./,
    ],
    [() => new Adagrad({ name: 3 as never }), TypeError, /name must be a string/],
    [() => new Adagrad({ epsilon: NaN }), RangeError, /epsilon must be finite, got NaN/],
    [() => new Adagrad({ clipnorm: NaN }), RangeError, /clipnorm must be finite, got NaN/],
    [() => new Adagrad({ decay: Infinity }), RangeError, /decay must be finite/],
    [
      () => new Adagrad({ skipNonFinite: "yes" as never }),
      TypeError,
      /skipNonFinite must be a boolean/,
    ],
    [
      () => new RowWiseAdagrad({ initialAccumulatorValue: -0.5 }),
      RangeError,
      /^initial_accumulator_value must be non-negative: -0.5$/,
    ],
    [() => new Adagrad(null as never), TypeError, /options must be an object/],
  ];
  for (const [fn, error, message] of bad) {
    assert.throws(fn, (e: Error) => e.constructor === error && message.test(e.message));
  }

  await withDevice((device) => {
    const store = new VariableStore(device, { maxArenaBytes: 1024 });
    store.variable("taken", [2]);
    const storeBad: [() => unknown, typeof Error, RegExp][] = [
      [() => new VariableStore(device, { chunk: 3 } as never), TypeError, /unknown option 'chunk'/],
      [
        () => new VariableStore(device, { maxArenaBytes: 6 }),
        RangeError,
        /positive multiple of 4, got 6/,
      ],
      [
        () => new VariableStore(device, { maxArenaBytes: 2 ** 40 }),
        RangeError,
        /exceeds the device's limit/,
      ],
      [() => new VariableStore({} as never), TypeError, /device must be a GPUDevice/],
      [() => store.variable("", [1]), TypeError, /name must be a non-empty string/],
      [() => store.variable("taken", [1]), RangeError, /'taken' already exists/],
      [() => store.variable("neg", [-1]), TypeError, /non-negative integers, got \[-1\]/],
      [() => store.variable("frac", [1.5]), TypeError, /non-negative integers/],
      [() => store.variable("str", "3" as never), TypeError, /shape must be an array/],
      [() => store.variable("empty", [4, 0]), RangeError, /shape \[4, 0\] has no elements/],
      [
        () => store.variable("init", [3], new Float32Array(2)),
        TypeError,
        /expected 3 values, got 2/,
      ],
      [() => store.variable("nan", [3], NaN), RangeError, /must be finite/],
      // A variable larger than an arena is split by rows; one row larger than an arena is not.
      [
        () => store.variable("huge", [2, 257]),
        RangeError,
        /'huge': a row of 257 float32s \(1028 bytes\) is larger than one arena \(1024 bytes\)/,
      ],
    ];
    for (const [fn, error, message] of storeBad) {
      assert.throws(
        fn,
        (e: Error) => e.constructor === error && message.test(e.message),
        String(message),
      );
    }
    // Rejected declarations left no trace.
    assert.deepEqual(store.variables.map((v) => v.name), ["taken"]);
    store.destroy();
    return Promise.resolve();
  });
});
