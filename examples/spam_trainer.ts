/**
 * The spam classifier on the GPU, runtime-neutral (the CLI demo and the browser page share it):
 * logistic regression over hashed features, a table of `2^tableBits` rows plus a bias in one
 * VariableStore, the forward and backward passes of `spam_classifier.wgsl`, and one
 * `applyGradients` per batch: the table's gradient as `IndexedSlices` written by the backward pass,
 * the bias's dense. The caller supplies the data (`spam_data.ts`) and the WGSL text, so that
 * nothing here reads a file.
 *
 * @module
 */
import {
  type AdagradBase,
  decodeSafetensors,
  IndexedSlices,
  LossScaleOptimizer,
  restoreCheckpoint,
  saveCheckpoint,
  type Variable,
  VariableStore,
} from "../mod.ts";
import { mulberry32 } from "./_random.ts";
import { shuffle, type SpamData } from "./spam_data.ts";
import { createOptimizer, type OptimizerChoice } from "./spam_optimizer.ts";
import { countSparsity, type Sparsity, sparsityText, trainedRows } from "./spam_sparsity.ts";

/**
 * The model's and optimizer's settings, fixed when the trainer is made (but `learningRate`). The
 * optimizer (`optimizer`, `l1`, `l2`, `epsilonInsideSqrt`, `clipnorm`) is an
 * {@linkcode OptimizerChoice}, refused as `choiceProblems` says.
 */
export interface TrainerOptions extends OptimizerChoice {
  batch: number;
  /**
   * Keras's mixed_float16 way: float16 gradients (a `gradDtype: "float16"` store) of the loss
   * times a dynamic loss scale, unscaled by a `LossScaleOptimizer` in its update. Not with
   * `rowwise` (the row kernel reads float32 dense gradients) nor `adagrad-da`.
   */
  mixedPrecision?: boolean;
  /** Seeds the order of the training messages in each epoch. */
  seed: number;
}

/** Held-out logistic loss and accuracy. */
export interface Evaluation {
  loss: number;
  accuracy: number;
}

/** What `trainEpoch` reports every few batches. */
export interface Progress {
  /** Training messages done in this epoch, of `total`. */
  done: number;
  total: number;
  /** Seconds of training so far in this epoch, not counting time spent in the progress hook. */
  seconds: number;
  /** `done / seconds`. */
  rate: number;
  /** Reads back the training loss of each message done since the previous report. */
  losses(): Promise<Float32Array>;
}

/** How `trainEpoch` reports and stops. */
export interface TrainEpochOptions {
  /** Report every this many batches (and after the last). Default 20. */
  progressEvery?: number;
  /** Asked before each batch: true ends the epoch early. */
  shouldStop?: () => boolean;
}

/** One epoch's result. */
export interface EpochResult {
  /** Mean training loss over the epoch's messages (over those done, when stopped early). */
  trainLoss: number;
  /** Seconds of training, not counting time spent in the progress hook. */
  seconds: number;
  /** Whether `shouldStop` ended the epoch early; the epoch then does not count. */
  stopped: boolean;
}

const STORAGE = 0x80, COPY_SRC = 0x4, COPY_DST = 0x8, UNIFORM = 0x40, MAP_READ = 0x1;
/** Must match MAX_BATCH in spam_classifier.wgsl. */
export const MAX_BATCH = 4096;

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

/** The spam classifier's weights, optimizer and GPU passes on one device. */
export class SpamTrainer {
  readonly device: GPUDevice;
  readonly data: SpamData;
  readonly options: TrainerOptions;
  readonly store: VariableStore;
  readonly table: Variable;
  readonly bias: Variable;
  readonly optimizer: AdagradBase | LossScaleOptimizer<object>;
  /** Whole epochs trained, counting those of a restored checkpoint. */
  epochsDone = 0;
  #order: (() => number) | undefined;
  #trainedRows: Uint8Array | undefined;
  readonly #buffers: GPUBuffer[];
  readonly #run: (pass: GPUComputePassEncoder, which: "train" | "predict", count: number) => void;
  readonly #setInfo: (count: number, lossBase: number) => void;
  readonly #batchBuffer: GPUBuffer;
  readonly #sliceIndices: GPUBuffer;
  readonly #sliceValues: GPUBuffer;
  readonly #out: GPUBuffer;

  /** Creates the variables (zeros), the optimizer and the passes; `wgsl` is spam_classifier.wgsl. */
  constructor(device: GPUDevice, data: SpamData, wgsl: string, options: TrainerOptions) {
    this.device = device;
    this.data = data;
    this.options = options;
    const { n, total, starts, dataset, train } = data;
    const rows = 2 ** data.tableBits;
    const half = options.mixedPrecision ?? false;
    // Before any GPU allocation: a refused choice leaves nothing to free.
    const inner = createOptimizer(options);
    this.store = new VariableStore(device, {
      label: "spam",
      gradDtype: half ? "float16" : "float32",
    });
    this.table = this.store.variable("spam/table", [rows], 0);
    this.bias = this.store.variable("spam/bias", [1], 0);
    this.optimizer = half ? new LossScaleOptimizer(inner) : inner;
    // No batch holds more features than the `batch` messages with the most.
    const sizes = Array.from({ length: n }, (_, m) => starts[m + 1] - starts[m]);
    const maxBatchNnz = sizes.sort((a, b) => b - a).slice(0, options.batch)
      .reduce((a, b) => a + b, 1);
    const module = device.createShaderModule({ code: wgsl });
    const pipeline = (entryPoint: string) =>
      device.createComputePipeline({ layout: "auto", compute: { module, entryPoint } });
    const [trainPipe, biasPipe, predictPipe] = (
      half ? ["train_f16", "bias_grad_f16", "predict"] : ["train", "bias_grad", "predict"]
    ).map(pipeline);
    const scale: [number, GPUBufferBinding][] = this.optimizer instanceof LossScaleOptimizer
      ? [[8, this.optimizer.scaleBinding(device)]]
      : [];
    const infoBuffer = buffer(device, 32, UNIFORM | COPY_DST);
    const dataBuffer = buffer(device, dataset.byteLength, STORAGE | COPY_DST, dataset);
    const batchBuffer = buffer(device, 4 * (2 * MAX_BATCH + 1), STORAGE | COPY_DST);
    const sliceIndices = buffer(device, 4 * maxBatchNnz, STORAGE | COPY_SRC);
    const sliceValues = buffer(device, 4 * maxBatchNnz, STORAGE | COPY_SRC | COPY_DST);
    const out = buffer(device, 4 * (MAX_BATCH + train.length), STORAGE | COPY_SRC);
    this.#buffers = [infoBuffer, dataBuffer, batchBuffer, sliceIndices, sliceValues, out];
    this.#batchBuffer = batchBuffer;
    this.#sliceIndices = sliceIndices;
    this.#sliceValues = sliceValues;
    this.#out = out;
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
      [3, { buffer: this.table.buffer }],
      [4, { buffer: sliceIndices }],
      [5, { buffer: sliceValues }],
      [6, { buffer: out }],
      ...scale,
    ]);
    const biasGroup = bind(biasPipe, [
      [0, info],
      [6, { buffer: out }],
      [7, { buffer: this.bias.grad.buffer }],
      ...scale,
    ]);
    const predictGroup = bind(predictPipe, [
      [0, info],
      [1, { buffer: dataBuffer }],
      [2, { buffer: batchBuffer }],
      [3, { buffer: this.table.buffer }],
      [6, { buffer: out }],
    ]);
    this.#run = (pass, which, count) => {
      if (which === "predict") {
        pass.setPipeline(predictPipe);
        pass.setBindGroup(0, predictGroup);
        pass.dispatchWorkgroups(Math.ceil(count / 64));
        return;
      }
      pass.setPipeline(trainPipe);
      pass.setBindGroup(0, trainGroup);
      pass.dispatchWorkgroups(Math.ceil(count / 64));
      pass.setPipeline(biasPipe);
      pass.setBindGroup(0, biasGroup);
      pass.dispatchWorkgroups(1);
    };
    const infoWords = new Uint32Array(8);
    this.#setInfo = (count, lossBase) => {
      infoWords.set([
        count,
        lossBase,
        this.table.offset / 4,
        this.bias.offset / 4,
        this.bias.grad.offset / 4,
        n + 1,
        n + 1 + total,
        0,
      ]);
      device.queue.writeBuffer(infoBuffer, 0, infoWords);
    };
  }

  /** Held-out loss and accuracy: one dispatch per 4,096 messages, one readback each. */
  async evaluate(): Promise<Evaluation> {
    const { device } = this;
    const { test, labels } = this.data;
    let loss = 0, right = 0;
    for (let first = 0; first < test.length; first += MAX_BATCH) {
      const ids = Uint32Array.from(test.slice(first, first + MAX_BATCH));
      device.queue.writeBuffer(this.#batchBuffer, 0, ids);
      this.#setInfo(ids.length, 0);
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      this.#run(pass, "predict", ids.length);
      pass.end();
      device.queue.submit([encoder.finish()]);
      const z = await readBack(device, this.#out, 0, ids.length);
      ids.forEach((m, i) => {
        const y = labels[m];
        loss += Math.max(z[i], 0) - z[i] * y + Math.log1p(Math.exp(-Math.abs(z[i])));
        if ((z[i] > 0 ? 1 : 0) === y) right++;
      });
    }
    return { loss: loss / Math.max(1, test.length), accuracy: right / Math.max(1, test.length) };
  }

  /**
   * The table's exactly-zero weights (the bias not counted): one readback of the table, so once an
   * epoch rather than once a step.
   */
  async sparsity(): Promise<Sparsity> {
    this.#trainedRows ??= trainedRows(this.data);
    return countSparsity(await this.table.read(), this.#trainedRows);
  }

  /**
   * One epoch over the training messages in a seeded order. Every `progressEvery` batches, and
   * after the last, waits for the GPU and awaits `onProgress`. `shouldStop`, asked before each
   * batch, ends the epoch early (it then does not count in `epochsDone`).
   */
  async trainEpoch(
    onProgress: (p: Progress) => void | Promise<void> = () => {},
    { progressEvery = 20, shouldStop = () => false }: TrainEpochOptions = {},
  ): Promise<EpochResult> {
    const { device, optimizer, table, bias } = this;
    const { starts, train } = this.data;
    const rows = table.shape[0];
    const batchSize = this.options.batch;
    const half = this.options.mixedPrecision ?? false;
    this.#order ??= mulberry32(this.options.seed + 1 + this.epochsDone);
    const ids = shuffle([...train], this.#order);
    const batchWords = new Uint32Array(2 * MAX_BATCH + 1);
    let seconds = 0, since = performance.now(), reported = 0, done = 0, stopped = false;
    for (let first = 0; first < ids.length; first += batchSize) {
      if (shouldStop()) {
        stopped = true;
        break;
      }
      const batch = ids.slice(first, first + batchSize);
      let at = 0;
      batch.forEach((m, b) => {
        batchWords[b] = m;
        batchWords[batch.length + b] = at;
        at += starts[m + 1] - starts[m];
      });
      batchWords[2 * batch.length] = at;
      device.queue.writeBuffer(this.#batchBuffer, 0, batchWords, 0, 2 * batch.length + 1);
      this.#setInfo(batch.length, first);
      const encoder = device.createCommandEncoder();
      // Float16 slice values are ORed into cleared words, whole 32-bit words.
      const valueBytes = half ? 4 * Math.ceil(at / 2) : 4 * at;
      if (half) encoder.clearBuffer(this.#sliceValues, 0, valueBytes);
      const pass = encoder.beginComputePass();
      this.#run(pass, "train", batch.length);
      pass.end();
      device.queue.submit([encoder.finish()]);
      const slices = new IndexedSlices(
        { buffer: this.#sliceValues, size: valueBytes },
        { buffer: this.#sliceIndices, size: 4 * at },
        [rows],
        half ? "float16" : "float32",
      );
      const pairs = [[slices, table], [bias.grad, bias]] as const;
      await (optimizer instanceof LossScaleOptimizer
        ? optimizer.applyGradients(pairs, { scaled: true })
        : optimizer.applyGradients(pairs));
      done = Math.min(first + batchSize, ids.length);
      if (done === ids.length || (first / batchSize) % progressEvery === 0) {
        await device.queue.onSubmittedWorkDone();
        seconds += (performance.now() - since) / 1000;
        const from = reported;
        reported = done;
        await onProgress({
          done,
          total: ids.length,
          seconds,
          rate: done / seconds,
          losses: () => readBack(device, this.#out, 4 * (MAX_BATCH + from), done - from),
        });
        since = performance.now();
      }
    }
    if (stopped) {
      await device.queue.onSubmittedWorkDone();
      seconds += (performance.now() - since) / 1000;
    } else {
      this.epochsDone++;
    }
    const losses = done > 0
      ? await readBack(device, this.#out, 4 * MAX_BATCH, done)
      : new Float32Array(0);
    return {
      trainLoss: losses.reduce((a, b) => a + b, 0) / Math.max(1, done),
      seconds,
      stopped,
    };
  }

  /** The weights and optimizer state as a safetensors checkpoint, with the epochs in metadata. */
  async save(): Promise<Uint8Array> {
    return await saveCheckpoint(
      { variables: [this.table, this.bias], optimizer: this.optimizer },
      { epochs: String(this.epochsDone), table_bits: String(this.data.tableBits) },
    );
  }

  /**
   * Puts a checkpoint of `save` back. Throws restoreCheckpoint's `TypeError`, having changed
   * nothing, when the file is not a checkpoint of this model and optimizer.
   */
  restore(bytes: Uint8Array): void {
    restoreCheckpoint(bytes, { variables: [this.table, this.bias], optimizer: this.optimizer });
    this.epochsDone = Number(decodeSafetensors(bytes).metadata.epochs ?? 0);
    this.#order = undefined; // the next epoch's order follows from the restored epoch count
  }

  /** Frees every GPU buffer of the trainer. */
  destroy(): void {
    for (const b of this.#buffers) b.destroy();
    this.optimizer.destroy();
    this.store.destroy();
  }
}

/** The first line of the CLI demo and of the page's log: the data, and the rows it trains. */
export function dataLine(d: SpamData, trainedRows: number): string {
  return `${d.n} messages (${d.train.length} train, ${d.test.length} held out, ${
    (100 * d.spamShare).toFixed(1)
  }% spam), ${d.total.toLocaleString("en")} features in a table of 2^${d.tableBits} rows ` +
    `(${trainedRows.toLocaleString("en")} of them in training messages)`;
}

/** The line the CLI demo ends with, and the browser page's `#status` when training is done. */
/** "1 epoch", "2 epochs". */
export function epochs(n: number): string {
  return `${n} epoch${n === 1 ? "" : "s"}`;
}

export function doneLine(r: {
  accuracy: number;
  majority: number;
  sparsity: Sparsity;
  initialLoss: number;
  finalLoss: number;
  epochsDone: number;
  seconds: number;
}): string {
  return `done: held-out accuracy ${(100 * r.accuracy).toFixed(2)}% (majority class ` +
    `${(100 * r.majority).toFixed(1)}%), ${sparsityText(r.sparsity)}, held-out loss ` +
    `${r.initialLoss.toFixed(4)} -> ` +
    `${r.finalLoss.toFixed(4)}, ${epochs(r.epochsDone)}, ${r.seconds.toFixed(1)} s`;
}

/** The per-epoch line of the CLI demo and of the page's log. */
export function epochLine(
  epoch: number,
  trainLoss: number,
  heldOut: Evaluation,
  sparsity: Sparsity,
  messagesPerSecond: number,
): string {
  return `epoch ${epoch}  train loss ${trainLoss.toFixed(4)}  held-out loss ` +
    `${heldOut.loss.toFixed(4)}  accuracy ${(100 * heldOut.accuracy).toFixed(2)}%  ` +
    `${sparsityText(sparsity)}  (${messagesPerSecond.toFixed(0)} msg/s)`;
}
