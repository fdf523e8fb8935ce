// The TF.js-model rows of `deno task bench`: TfjsAdagrad against tf.train.adagrad training the
// same TF.js models on TF.js's WebGPU backend, the optimizer phase alone (gradients made once)
// and the whole step (`trainOnBatch`: forward, backward, optimizer, the loss read back).
import { writeFile } from "node:fs/promises";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-webgpu";
import * as tfl from "@tensorflow/tfjs-layers";
import { TfjsAdagrad } from "../tfjs.ts";
import { counting } from "../tools/_counting.ts";
import { median, msPerStepEach, type Timed } from "./_timing.ts";

interface TfBackend {
  device: GPUDevice;
  commandEncoder: GPUCommandEncoder | null;
  submitQueue(): void;
}

/** A model of the rows: its layers and one batch of inputs and targets. */
interface ModelCase {
  name: string;
  make(): tfl.LayersModel;
  batch(): { x: tf.Tensor; y: tf.Tensor };
}

const BATCH = 64;
const uniform = (shape: number[], lo: number, hi: number) => tf.randomUniform(shape, lo, hi);

/** `layers` dense layers of `width` (2 variables each), tanh between them. */
function mlp(layers: number, width: number): ModelCase {
  return {
    name: `MLP ${layers} x ${width} dense (${2 * layers} variables)`,
    make: () =>
      tfl.sequential({
        layers: Array.from({ length: layers }, (_, i) =>
          tfl.layers.dense({
            units: width,
            activation: i < layers - 1 ? "tanh" : "linear",
            ...(i === 0 ? { inputShape: [width] } : {}),
          })),
      }),
    batch: () => ({ x: uniform([BATCH, width], -1, 1), y: uniform([BATCH, width], -1, 1) }),
  };
}

/** An embedding table of `rows` x `width`, then two dense layers (5 variables). */
function embedding(rows: number, width: number): ModelCase {
  const ids = 8;
  return {
    name: `embedding ${rows / 1000}k x ${width} + 2 dense (5 variables)`,
    make: () =>
      tfl.sequential({
        layers: [
          tfl.layers.embedding({ inputDim: rows, outputDim: width, inputLength: ids }),
          tfl.layers.flatten(),
          tfl.layers.dense({ units: 64, activation: "tanh" }),
          tfl.layers.dense({ units: 1 }),
        ],
      }),
    batch: () => ({
      x: tf.randomUniform([BATCH, ids], 0, rows, "int32"),
      y: uniform([BATCH, 1], -1, 1),
    }),
  };
}

/** One model case's four contenders, timed in the same interleaved rounds. */
interface ModelRow {
  name: string;
  /** The optimizer phase: ours, tf.train.adagrad. */
  ours: { ms: number; rounds: number[] };
  theirs: { ms: number; rounds: number[] };
  /** The whole step (trainOnBatch): ours, tf.train.adagrad. */
  oursFit: { ms: number; rounds: number[] };
  theirsFit: { ms: number; rounds: number[] };
  /** Dispatches and submits of our optimizer phase. */
  counts: { dispatches: number; submits: number };
}

/** Times both optimizers on two copies of each model (same weights) with one batch. */
async function tfjsModelRows(quick: boolean): Promise<ModelRow[]> {
  if (!await tf.setBackend("webgpu")) throw new Error("TF.js: no WebGPU backend");
  const backend = tf.backend() as unknown as TfBackend;
  const sync = async () => {
    if (backend.commandEncoder) backend.submitQueue();
    await backend.device.queue.onSubmittedWorkDone();
  };
  const cases = quick ? [mlp(30, 16), embedding(2_000, 8)] : [mlp(30, 128), embedding(20_000, 32)];
  const out: ModelRow[] = [];
  for (const c of cases) {
    console.error(`TF.js model: ${c.name} ...`);
    const ours = c.make();
    const theirs = c.make();
    theirs.setWeights(ours.getWeights());
    const { x, y } = c.batch();
    const opt = new TfjsAdagrad({ learningRate: 0.01 });
    const ref = tf.train.adagrad(0.01);
    ours.compile({ optimizer: opt, loss: "meanSquaredError" });
    theirs.compile({ optimizer: ref, loss: "meanSquaredError" });
    // Each model's gradients of one batch, made once, for the optimizer phase.
    const gradsOf = (m: tfl.LayersModel) =>
      Object.entries(
        tf.variableGrads(
          () => tf.losses.meanSquaredError(y, m.apply(x) as tf.Tensor) as tf.Scalar,
          m.trainableWeights.map((w) => w.read() as tf.Variable),
        ).grads,
      ).map(([name, tensor]) => ({ name, tensor }));
    const oursGrads = gradsOf(ours);
    const theirsGrads = gradsOf(theirs);
    const contenders: Timed[] = [
      { step: () => opt.applyGradients(oursGrads), sync },
      { step: () => ref.applyGradients(theirsGrads), sync },
      { step: () => ours.trainOnBatch(x, y), sync },
      { step: () => theirs.trainOnBatch(x, y), sync },
    ];
    // 40 steps a round (slow contenders get fewer): the wait for the GPU that ends each round
    // (about 10 ms on Deno with lavapipe, whatever the work) then weighs little on a 2 ms step.
    const [a, b, fa, fb] = await msPerStepEach(
      contenders,
      quick ? { warmup: 2, rounds: 3, steps: 10 } : { steps: 40 },
    );
    let counts = { dispatches: 0, submits: 0 };
    await counting(backend.device, async (n) => {
      opt.applyGradients(oursGrads);
      await sync();
      counts = { dispatches: n.dispatches, submits: n.submits };
    });
    out.push({ name: c.name, ours: a, theirs: b, oursFit: fa, theirsFit: fb, counts });
    tf.dispose([x, y, ...[...oursGrads, ...theirsGrads].map((g) => g.tensor)]);
    ours.dispose();
    theirs.dispose();
    opt.dispose();
    ref.dispose();
  }
  return out;
}

/** a's time over b's: the median of round-by-round ratios (each pair ran in the same sweep). */
const ratio = (a: { rounds: number[] }, b: { rounds: number[] }) =>
  median(a.rounds.map((t, i) => t / b.rounds[i]));
const f = (x: number, digits = 2) => x.toFixed(x >= 100 ? 0 : x >= 10 ? 1 : digits);

/**
 * Times the rows, prints their table and targets, and writes them to `file`. `adapter` and `date`
 * head the table as they head the main one.
 */
export async function tfjsModelBench(
  quick: boolean,
  { adapter, date, file }: { adapter: string; date: string; file: URL },
): Promise<void> {
  const rows = await tfjsModelRows(quick);
  const lines = [
    `TF.js models, median ms (lower is better), on **${adapter}**, ${date}` +
    (quick ? " (quick sizes)" : ""),
    "",
    `TfjsAdagrad against \`tf.train.adagrad\` on TF.js's WebGPU backend, batch ${BATCH}, both ` +
    "with learning rate 0.01 and accumulators from 0.1: the optimizer phase alone " +
    "(`applyGradients`, gradients made once) and the whole step (`model.trainOnBatch`: forward, " +
    "backward, optimizer, the loss read back). The four are timed in interleaved rounds of up to " +
    "40 steps; 'vs TF.js' is tf.train.adagrad's time over ours, the median of round-by-round " +
    "ratios.",
    "",
    "| model | optimizer ms: ours | tf.train.adagrad | vs TF.js | dispatches / submits: ours | trainOnBatch ms: ours | tf.train.adagrad | vs TF.js |",
    "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
  ];
  const targets: string[] = [];
  const verdict = (met: boolean) => met ? "met" : "missed";
  for (const r of rows) {
    const opt = ratio(r.theirs, r.ours);
    const fit = ratio(r.theirsFit, r.oursFit);
    lines.push(
      `| ${r.name} | ${f(r.ours.ms, 3)} | ${f(r.theirs.ms)} | ${f(opt, 1)}x | ` +
        `${r.counts.dispatches} / ${r.counts.submits} | ${f(r.oursFit.ms)} | ` +
        `${f(r.theirsFit.ms)} | ${f(fit)}x |`,
    );
    targets.push(
      `- ${verdict(opt >= 10)}: optimizer phase >= 10x tf.train.adagrad, ${r.name}: ${f(opt, 1)}x`,
      `- ${verdict(fit > 1)}: trainOnBatch faster than with tf.train.adagrad, ${r.name}: ` +
        `${f(fit)}x`,
    );
  }
  const text = [...lines, "", "Targets:", "", ...targets].join("\n") + "\n";
  console.log(text);
  await writeFile(file, text);
  console.error(`wrote bench/results/${file.pathname.split("/").at(-1)}`);
}
