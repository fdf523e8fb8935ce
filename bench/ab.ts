/**
 * A/B: the same steps from two copies of the package in one process, on one device, their rounds
 * interleaved (msPerStepEach), so that a change to the step's machinery is measured against the
 * code before it without the drift between two runs. Prints each case's median ms per step and
 * the ratio B / A.
 *
 *     git worktree add /tmp/before <commit>
 *     deno run -A bench/ab.ts /tmp/before        (A: that checkout; B: this one)
 *
 * @module
 */
import { benchDevice, msPerStepEach } from "./_timing.ts";
import * as current from "../mod.ts";

type Package = typeof current;

/** One case: what it builds from a package, and the step it times. */
interface Case {
  name: string;
  build(lib: Package, device: GPUDevice): { step(): Promise<unknown>; destroy(): void };
}

function random(n: number, seed: number): Float32Array<ArrayBuffer> {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

/** How a case builds its optimizer from a package. */
type Make = (lib: Package, options: Record<string, unknown>) => {
  applyGradients: Package["Adagrad"]["prototype"]["applyGradients"];
  destroy(): void;
};

const keras2: Make = (lib, options) => new lib.Adagrad({ learningRate: 0.01, ...options });

/**
 * `count` variables of `size` elements, each with its own gradient written in place; the
 * optimizer Keras 2's with `options`, or what `make` builds.
 */
function dense(
  count: number,
  size: number,
  options: Record<string, unknown>,
  make: Make = keras2,
): Case["build"] {
  return (lib, device) => {
    const store = new lib.VariableStore(device);
    const vars = Array.from({ length: count }, (_, i) => store.variable(`v${i}`, [size], 0.5));
    for (const [i, v] of vars.entries()) {
      device.queue.writeBuffer(v.grad.buffer, v.grad.offset, random(size, i + 1));
    }
    const opt = make(lib, options);
    const pairs = vars.map((v) => [v.grad, v] as const);
    return {
      step: () => opt.applyGradients(pairs),
      destroy: () => {
        opt.destroy();
        store.destroy();
      },
    };
  };
}

/** A `rows` x `width` table and `nnz` random indices (with duplicates), values on the CPU. */
function sparse(rows: number, width: number, nnz: number): Case["build"] {
  return (lib, device) => {
    const store = new lib.VariableStore(device);
    const table = store.variable("table", [rows, width], 0.5);
    const indices = Int32Array.from(random(nnz, 7), (x) => Math.floor((x + 0.5) * rows));
    const slices = new lib.IndexedSlices(random(nnz * width, 9), indices, [rows, width]);
    const opt = new lib.Adagrad({ learningRate: 0.01 });
    return {
      step: () => opt.applyGradients([[slices, table]]),
      destroy: () => {
        opt.destroy();
        store.destroy();
      },
    };
  };
}

const CASES: Case[] = [
  { name: "dense 1 x 16M", build: dense(1, 1 << 24, {}) },
  { name: "dense 100 x 10k", build: dense(100, 10_000, {}) },
  { name: "clipnorm 1 x 16M", build: dense(1, 1 << 24, { clipnorm: 1 }) },
  { name: "globalClipnorm 100 x 10k", build: dense(100, 10_000, { globalClipnorm: 1 }) },
  { name: "skipNonFinite 100 x 10k", build: dense(100, 10_000, { skipNonFinite: true }) },
  { name: "sparse 262,144 indices, 1M x 32", build: sparse(1 << 20, 32, 1 << 18) },
  // The other rules, whose kernels the rule contract reached (issue 31).
  {
    name: "Keras 3, weight decay + EMA, 100 x 10k",
    build: dense(
      100,
      10_000,
      {},
      (lib) => lib.Adagrad.keras3({ learningRate: 0.01, weightDecay: 0.004, useEma: true }),
    ),
  },
  {
    name: "PyTorch, lr_decay + weight decay, 100 x 10k",
    build: dense(
      100,
      10_000,
      {},
      (lib) => lib.Adagrad.torch({ lr: 0.01, lrDecay: 1e-4, weightDecay: 1e-4 }),
    ),
  },
  {
    name: "AdagradDA, l1 + l2, 100 x 10k",
    build: dense(100, 10_000, {}, (lib) =>
      new lib.AdagradDA({
        learningRate: 0.01,
        l1RegularizationStrength: 1e-4,
        l2RegularizationStrength: 1e-4,
      })),
  },
];

if (import.meta.main) {
  const dir = Deno.args[0];
  if (!dir) throw new Error("usage: deno run -A bench/ab.ts <checkout of A>");
  const before: Package = await import(
    new URL("mod.ts", `file://${dir.replace(/\/?$/, "/")}`).href
  );
  const { device, description } = await benchDevice();
  console.log(`A: ${dir}, B: this checkout; ${description}`);
  console.log("| case | A ms | B ms | B / A |\n| --- | ---: | ---: | ---: |");
  for (const c of CASES) {
    const a = c.build(before, device);
    const b = c.build(current, device);
    const sync = () => device.queue.onSubmittedWorkDone();
    const [ra, rb] = await msPerStepEach([{ step: a.step, sync }, { step: b.step, sync }], {
      rounds: 15,
      steps: 5,
    });
    console.log(
      `| ${c.name} | ${ra.ms.toFixed(2)} | ${rb.ms.toFixed(2)} | ${(rb.ms / ra.ms).toFixed(3)} |`,
    );
    a.destroy();
    b.destroy();
  }
  device.destroy();
}
