/// <reference lib="dom" />
/**
 * The browser page that trains the spam classifier: the same data, features, WGSL passes and
 * Adagrad as `deno task demo` (spam_data.ts, spam_trainer.ts), with controls, live charts and
 * checkpoints. `deno task web` bundles it with the package and serves it.
 *
 * @module
 */
import { requestDevice } from "../../mod.ts";
import { type CorpusMessage, prepareSpamData, type SpamData } from "../spam_data.ts";
import { describeChoice } from "../spam_optimizer.ts";
import { sparsityText } from "../spam_sparsity.ts";
import {
  dataLine,
  doneLine,
  epochLine,
  epochs,
  type Evaluation,
  SpamTrainer,
} from "../spam_trainer.ts";
import { type ChartPoint, TrainingCharts } from "./charts.ts";
import { FIELDS, type PageSettings, readSettings } from "./settings.ts";

const SEED = 7, TABLE_BITS = 18; // the CLI demo's defaults

const element = <T extends HTMLElement = HTMLElement>(id: string) =>
  document.getElementById(id) as T;
const status = element("status"), error = element("error"), log = element("log");
const form = element<HTMLFormElement>("controls");
const buttons = {
  train: element<HTMLButtonElement>("train"),
  resume: element<HTMLButtonElement>("continue"),
  stop: element<HTMLButtonElement>("stop"),
  download: element<HTMLButtonElement>("download"),
  load: element<HTMLInputElement>("load"),
};
const charts = new TrainingCharts(element("charts"));

let device: GPUDevice | undefined;
let wgsl = "";
let corpus: CorpusMessage[] = [];
const dataByLimit = new Map<number | undefined, SpamData>();
let trainer: SpamTrainer | undefined;
let busy = true;
let stopRequested = false;

const say = (line: string) => status.textContent = line;
const logLine = (line: string) => log.textContent += `${line}\n`;
function showError(message: string): void {
  error.textContent = message;
  error.hidden = false;
}
function clearError(): void {
  error.textContent = "";
  error.hidden = true;
}
/** Stops the page for good: no WebGPU, no adapter, a lost device. */
function fatal(message: string): void {
  busy = true;
  trainer = undefined;
  status.className = "fatal";
  say(message);
  updateButtons();
}

function updateButtons(): void {
  const ready = device !== undefined && !busy;
  buttons.train.disabled = !ready;
  buttons.resume.disabled = !ready || !trainer;
  buttons.download.disabled = !ready || !trainer;
  buttons.load.disabled = !ready;
  buttons.stop.disabled = !busy || !trainer || status.className === "fatal";
}

function describeModel(t: SpamTrainer): string {
  const o = t.options;
  return `${
    describeChoice(o, [
      `learning rate ${t.optimizer.learningRate}`,
      `clipnorm ${o.clipnorm ?? "off"}`,
      `batch ${o.batch}`,
    ])
  }, 2^${t.data.tableBits}-row table: ${epochs(t.epochsDone)}, ${t.optimizer.iterations} steps`;
}
function updateModel(): void {
  element("model").textContent = trainer ? `model: ${describeModel(trainer)}` : "model: none yet";
}

/** The settings in the form; shows what cannot be read and returns undefined then. */
function formSettings(): PageSettings | undefined {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData(form)) params.set(name, String(value));
  const { settings, errors } = readSettings(params);
  if (errors.length > 0) {
    showError(errors.join("; "));
    return undefined;
  }
  return settings;
}

function dataFor(limit: number | undefined): SpamData {
  let data = dataByLimit.get(limit);
  if (!data) {
    data = prepareSpamData(corpus, { seed: SEED, tableBits: TABLE_BITS, limit });
    dataByLimit.set(limit, data);
  }
  return data;
}

function newTrainer(s: PageSettings): SpamTrainer {
  return new SpamTrainer(device!, dataFor(s.limit), wgsl, {
    batch: s.batch,
    learningRate: s.learningRate,
    clipnorm: s.clipnorm,
    epsilonInsideSqrt: s.epsilonInsideSqrt,
    optimizer: s.optimizer,
    l1: s.l1,
    l2: s.l2,
    seed: SEED,
  });
}

const majorityOf = (d: SpamData) => Math.max(d.spamShare, 1 - d.spamShare);
const heldOut = (e: Evaluation): ChartPoint => ({
  epoch: 0,
  heldOutLoss: e.loss,
  accuracy: e.accuracy,
});

/** Trains `s.epochs` epochs: from scratch with `fresh`, else on from the current model. */
async function train(s: PageSettings, fresh: boolean): Promise<void> {
  busy = true;
  stopRequested = false;
  clearError();
  const started = performance.now();
  try {
    if (fresh || !trainer) {
      say("hashing the messages' features...");
      updateButtons();
      await new Promise((resolve) => setTimeout(resolve)); // let the status line show
      trainer?.destroy();
      trainer = undefined;
      trainer = newTrainer(s);
      const d = trainer.data;
      charts.reset(majorityOf(d));
      log.textContent = "";
      logLine(dataLine(d, (await trainer.sparsity()).trained));
    } else {
      trainer.optimizer.learningRate = s.learningRate;
    }
    const t = trainer;
    updateModel();
    updateButtons();
    const initial = await t.evaluate();
    charts.add({ ...heldOut(initial), epoch: t.epochsDone });
    let last = initial;
    for (let e = 0; e < s.epochs; e++) {
      const number = t.epochsDone + 1;
      let previous = { done: 0, seconds: 0 }, evaluatedAt = 0;
      const result = await t.trainEpoch(async (p) => {
        const losses = await p.losses();
        const point: ChartPoint = {
          epoch: t.epochsDone + p.done / p.total,
          trainLoss: losses.reduce((a, b) => a + b, 0) / Math.max(1, losses.length),
          messagesPerSecond: (p.done - previous.done) / (p.seconds - previous.seconds),
        };
        previous = p;
        // Held-out points within an epoch too, about every quarter (the last comes at its end).
        if (p.done < p.total && p.done - evaluatedAt >= p.total / 4) {
          evaluatedAt = p.done;
          Object.assign(point, heldOut(await t.evaluate()), { epoch: point.epoch });
        }
        charts.add(point);
        say(`epoch ${number}: ${p.done}/${p.total} messages, ${p.rate.toFixed(0)} msg/s`);
      }, { progressEvery: s.chartEvery, shouldStop: () => stopRequested });
      if (result.stopped) {
        say(
          `stopped during epoch ${number}, after ${t.optimizer.iterations} steps; Continue ` +
            `trains on from here`,
        );
        return;
      }
      const t0 = performance.now();
      last = await t.evaluate();
      const seconds = result.seconds + (performance.now() - t0) / 1000;
      charts.add({ ...heldOut(last), epoch: t.epochsDone });
      const sparsity = await t.sparsity(); // one table readback an epoch, not timed
      logLine(epochLine(number, result.trainLoss, last, sparsity, t.data.train.length / seconds));
      updateModel();
    }
    const line = doneLine({
      accuracy: last.accuracy,
      majority: majorityOf(t.data),
      sparsity: await t.sparsity(),
      initialLoss: initial.loss,
      finalLoss: last.loss,
      epochsDone: t.epochsDone,
      seconds: (performance.now() - started) / 1000,
    });
    logLine(line);
    say(line);
  } catch (e) {
    showError(`Training failed: ${(e as Error).message}`);
    say("training failed");
  } finally {
    busy = false;
    updateModel();
    updateButtons();
  }
}

async function download(): Promise<void> {
  if (!trainer) return;
  const bytes = await trainer.save();
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>]));
  const a = document.createElement("a");
  a.href = url;
  a.download = "spam_classifier.safetensors";
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Restores a checkpoint into the model (a new one from the form when there is none yet). */
async function load(file: File): Promise<void> {
  clearError();
  const bytes = new Uint8Array(await file.arrayBuffer());
  let t = trainer;
  const created = !t;
  if (!t) {
    const s = formSettings();
    if (!s) return;
    t = newTrainer(s);
  }
  try {
    t.restore(bytes); // writes nothing unless the whole checkpoint fits
  } catch (e) {
    if (created) t.destroy();
    showError(`Cannot load ${file.name}: ${(e as Error).message}. The model is unchanged.`);
    return;
  }
  trainer = t;
  if (created) charts.reset(majorityOf(t.data));
  const e = await t.evaluate();
  charts.add({ ...heldOut(e), epoch: t.epochsDone });
  const line = `loaded ${file.name}: ${epochs(t.epochsDone)}, ${t.optimizer.iterations} steps; ` +
    `held-out loss ${e.loss.toFixed(4)}, accuracy ${(100 * e.accuracy).toFixed(2)}%, ` +
    sparsityText(await t.sparsity());
  logLine(line);
  say(`${line}. Continue trains on from here.`);
  updateModel();
  updateButtons();
}

function adapterName(info: GPUAdapterInfo): string {
  const name = info.description ||
    [info.vendor, info.architecture, info.device].filter(Boolean).join(" ") || "unknown";
  const fallback = (info as { isFallbackAdapter?: boolean }).isFallbackAdapter;
  return fallback ? `${name} (a software fallback adapter: the GPU work runs on the CPU)` : name;
}

async function main(): Promise<void> {
  updateButtons();
  if (!globalThis.isSecureContext) {
    return fatal(
      `WebGPU needs a secure context, and ${location.origin} is not one: open the page on ` +
        `http://127.0.0.1, http://localhost or https.`,
    );
  }
  if (!navigator.gpu) {
    return fatal(
      "This browser has no WebGPU (navigator.gpu is missing), so the page cannot train. Use " +
        "Chrome or Edge 113 or later; on Linux, start Chrome with --enable-unsafe-webgpu " +
        '(README, "In the browser").',
    );
  }
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) {
    return fatal(
      "WebGPU is there but found no adapter (the GPU may be blocklisted or disabled). On Linux " +
        'without a GPU, start Chrome with --enable-unsafe-webgpu (README, "In the browser").',
    );
  }
  element("adapter").textContent = `WebGPU adapter: ${adapterName(adapter.info)}`;
  say("loading the corpus...");
  const fetchOk = async (name: string) => {
    const response = await fetch(name);
    if (!response.ok) throw new Error(`${name}: HTTP ${response.status}`);
    return response;
  };
  [wgsl, corpus] = await Promise.all([
    fetchOk("spam_classifier.wgsl").then((r) => r.text()),
    fetchOk("corpus.json").then((r) => r.json()),
  ]);
  const gpu = await requestDevice();
  gpu.lost.then((info) => {
    if (info.reason !== "destroyed") fatal(`The GPU device was lost: ${info.message}`);
  });
  device = gpu;
  // The form starts from the URL's settings.
  const query = new URLSearchParams(location.search);
  for (const name of FIELDS) {
    const field = form.elements.namedItem(name) as HTMLInputElement | null;
    const value = query.get(name);
    if (field && value !== null) field.value = value;
  }
  const { settings, errors } = readSettings(query);
  busy = false;
  updateModel();
  updateButtons();
  say(`ready: ${corpus.length} messages loaded; press Train`);
  if (errors.length > 0) return showError(`The URL's settings: ${errors.join("; ")}`);
  if (settings.autostart) await train(settings, true);
}

buttons.train.addEventListener("click", () => {
  const s = formSettings();
  if (s) train(s, true);
});
buttons.resume.addEventListener("click", () => {
  const s = formSettings();
  if (s) train(s, false);
});
buttons.stop.addEventListener("click", () => stopRequested = true);
buttons.download.addEventListener("click", () => {
  download().catch((e) => showError(`Cannot save the checkpoint: ${(e as Error).message}`));
});
buttons.load.addEventListener("change", () => {
  const file = buttons.load.files?.[0];
  buttons.load.value = ""; // the same file can be chosen again
  if (file) load(file).catch((e) => showError(`Cannot load ${file.name}: ${(e as Error).message}`));
});
main().catch((e) => fatal(`The page could not start: ${(e as Error).message}`));
