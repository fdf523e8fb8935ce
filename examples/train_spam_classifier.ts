/**
 * The main job: trains a spam classifier on the SpamAssassin public corpus, headlessly, on
 * whatever WebGPU adapter is there (a GPU, or Mesa's lavapipe). See spam_classifier.ts.
 *
 *     deno task demo [--epochs 4] [--batch 64] [--lr 0.2] [--clipnorm C] [--table-bits 18]
 *                    [--seed 7] [--checkpoint .demo/spam.safetensors] [--resume] [--limit N]
 *                    [--mixed-precision] [--optimizer adagrad|rowwise|proximal|adagrad-da]
 *                    [--l1 X] [--l2 X]
 *
 * `--optimizer proximal` (TF's ProximalAdagrad) and `--optimizer adagrad-da` (TF's AdagradDA)
 * take L1 and L2 strengths (default 0); L1 sets table weights to exactly zero, and every epoch
 * line prints the share of zeros ("zeros", the bias not counted), for every optimizer.
 *
 * `--mixed-precision` trains as Keras's mixed_float16 policy does: float16 gradients of the loss
 * times a dynamic loss scale, unscaled and checked by a LossScaleOptimizer on the GPU.
 *
 * At the end it saves the weights and the optimizer state (safetensors); `--resume` continues
 * from them.
 *
 * @module
 */
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import process from "node:process";
import { requestDevice } from "../mod.ts";
import { ResumeError, trainSpamClassifier } from "./spam_classifier.ts";
import { doneLine } from "./spam_trainer.ts";
import {
  choiceProblems,
  type OptimizerChoice,
  type OptimizerKind,
  OPTIMIZERS,
} from "./spam_optimizer.ts";

const args = process.argv.slice(2);
function fail(message: string): never {
  console.error(message);
  process.exit(2);
}
/** `--name`'s number; with `zero`, 0 is allowed too (the L1 and L2 strengths). */
function option(name: string, fallback: number, integer = false, zero = false): number {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(args[i + 1]);
  if (
    args[i + 1] === undefined || args[i + 1].trim() === "" || !Number.isFinite(value) ||
    value < 0 || (value === 0 && !zero) || (integer && !Number.isInteger(value))
  ) {
    const what = `${zero ? "non-negative" : "positive"} ${integer ? "integer" : "number"}`;
    fail(`--${name} needs a ${what}, got ${args[i + 1]}`);
  }
  return value;
}
const flags = ["--resume", "--mixed-precision"];
const known = [
  "epochs",
  "batch",
  "lr",
  "clipnorm",
  "table-bits",
  "seed",
  "checkpoint",
  "limit",
  "optimizer",
  "l1",
  "l2",
];
for (const a of args) {
  if (a.startsWith("--") && !known.includes(a.slice(2)) && !flags.includes(a)) {
    console.error(
      `unknown option ${a}; options: ${known.map((k) => `--${k}`).join(" ")} ${flags.join(" ")}`,
    );
    process.exit(2);
  }
}
const checkpoint = args.includes("--checkpoint")
  ? args[args.indexOf("--checkpoint") + 1]
  : ".demo/spam_classifier.safetensors";
const optimizer = args.includes("--optimizer")
  ? args[args.indexOf("--optimizer") + 1] as OptimizerKind
  : "adagrad";
if (!OPTIMIZERS.includes(optimizer)) {
  fail(`--optimizer needs one of ${OPTIMIZERS.join(", ")}, got ${optimizer}`);
}
const choice: OptimizerChoice = {
  optimizer,
  learningRate: option("lr", 0.2),
  clipnorm: args.includes("--clipnorm") ? option("clipnorm", 1) : undefined,
  l1: args.includes("--l1") ? option("l1", 0, false, true) : undefined,
  l2: args.includes("--l2") ? option("l2", 0, false, true) : undefined,
  mixedPrecision: args.includes("--mixed-precision"),
};
const problems = choiceProblems(choice);
if (problems.length > 0) fail(problems.join("\n"));

const device = await requestDevice();
const adapter = await navigator.gpu.requestAdapter();
console.log(`adapter: ${adapter?.info.description || adapter?.info.device || "unknown"}`);
await mkdir(dirname(checkpoint), { recursive: true });
const encoder = new TextEncoder();
const training = trainSpamClassifier(device, {
  ...choice,
  epochs: option("epochs", 4, true),
  batch: Math.min(option("batch", 64, true), 4096),
  tableBits: option("table-bits", 18, true),
  seed: option("seed", 7, true),
  limit: args.includes("--limit") ? option("limit", 1, true) : undefined,
  checkpoint,
  resume: args.includes("--resume"),
  // Progress bars (lines ending in \r) only on a terminal.
  log: (line) => {
    if (process.stdout.isTTY || !line.endsWith("\r")) process.stdout.write(encoder.encode(line));
  },
});
const result = await training.catch((e) => {
  if (!(e instanceof ResumeError)) throw e;
  console.error(e.message);
  device.destroy();
  process.exit(2);
});
console.log(doneLine(result));
device.destroy();
