/**
 * The main job: trains a spam classifier on the SpamAssassin public corpus, headlessly, on
 * whatever WebGPU adapter is there (a GPU, or Mesa's lavapipe). See spam_classifier.ts.
 *
 *     deno task demo [--epochs 4] [--batch 64] [--lr 0.2] [--clipnorm C] [--table-bits 18]
 *                    [--seed 7] [--checkpoint .demo/spam.safetensors] [--resume] [--limit N]
 *                    [--mixed-precision]
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
import { trainSpamClassifier } from "./spam_classifier.ts";
import { doneLine } from "./spam_trainer.ts";

const args = process.argv.slice(2);
function option(name: string, fallback: number, integer = false): number {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(args[i + 1]);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    console.error(
      `--${name} needs a positive ${integer ? "integer" : "number"}, got ${args[i + 1]}`,
    );
    process.exit(2);
  }
  return value;
}
const flags = ["--resume", "--mixed-precision"];
const known = ["epochs", "batch", "lr", "clipnorm", "table-bits", "seed", "checkpoint", "limit"];
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

const device = await requestDevice();
const adapter = await navigator.gpu.requestAdapter();
console.log(`adapter: ${adapter?.info.description || adapter?.info.device || "unknown"}`);
await mkdir(dirname(checkpoint), { recursive: true });
const encoder = new TextEncoder();
const result = await trainSpamClassifier(device, {
  epochs: option("epochs", 4, true),
  batch: Math.min(option("batch", 64, true), 4096),
  learningRate: option("lr", 0.2),
  clipnorm: args.includes("--clipnorm") ? option("clipnorm", 1) : undefined,
  tableBits: option("table-bits", 18, true),
  seed: option("seed", 7, true),
  limit: args.includes("--limit") ? option("limit", 1, true) : undefined,
  checkpoint,
  resume: args.includes("--resume"),
  mixedPrecision: args.includes("--mixed-precision"),
  // Progress bars (lines ending in \r) only on a terminal.
  log: (line) => {
    if (process.stdout.isTTY || !line.endsWith("\r")) process.stdout.write(encoder.encode(line));
  },
});
console.log(doneLine(result));
device.destroy();
