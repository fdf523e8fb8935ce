/**
 * A real training run, headless, on whatever WebGPU adapter is there (a GPU, or Mesa's lavapipe):
 * logistic regression on a synthetic, seeded binary classification set. The forward and backward
 * passes are this example's own WGSL (logistic_regression.wgsl); they write the gradients straight
 * into the store's gradient regions, and the package's Adagrad applies them, one submit per step,
 * with nothing read back except the per-epoch report.
 *
 *     deno task demo [--epochs 15] [--batch 256] [--lr 0.1] [--features 64] [--samples 16384]
 *
 * @module
 */
import { Adagrad, VariableStore } from "../mod.ts";

const STORAGE = 0x80;
const COPY_DST = 0x8;
const UNIFORM = 0x40;

function option(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(Deno.args[i + 1]);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`--${name} needs a positive number, got ${Deno.args[i + 1]}`);
    Deno.exit(2);
  }
  return value;
}

const epochs = option("epochs", 15);
const batchSize = option("batch", 256);
const learningRate = option("lr", 0.1);
const features = option("features", 64);
const samples = option("samples", 16384);
const seed = option("seed", 42);

/** Seeded uniform [0, 1) (mulberry32) and standard normal (Box-Muller) draws. */
function generator(s: number) {
  let a = s >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, normal };
}

// The data: labels from a hidden linear rule plus noise, so about 90% is the best accuracy.
const random = generator(seed);
const trueW = Array.from({ length: features }, () => random.normal() * 3 / Math.sqrt(features));
const x = new Float32Array(samples * features);
const y = new Float32Array(samples);
for (let n = 0; n < samples; n++) {
  let z = 0.5;
  for (let j = 0; j < features; j++) {
    const v = random.normal();
    x[n * features + j] = v;
    z += trueW[j] * v;
  }
  y[n] = z + 0.8 * random.normal() > 0 ? 1 : 0;
}
const trainCount = Math.floor(samples * 0.8); // the rest is held out

const adapter = await navigator.gpu.requestAdapter();
if (!adapter) {
  console.error("No WebGPU adapter. Run `scripts/setup.sh` (installs Mesa's lavapipe on Debian).");
  Deno.exit(1);
}
const device = await adapter.requestDevice();
const info = adapter.info;
console.log(`adapter: ${info.description || info.vendor || "unknown"}`);

// The model's variables live in the package's store; its own data in its own buffers.
const store = new VariableStore(device, { label: "logreg" });
const w = store.variable("dense/kernel", [features], 0);
const b = store.variable("dense/bias", [1], 0);
const opt = new Adagrad({ learningRate });

const upload = (data: Float32Array | Uint32Array, usage = STORAGE | COPY_DST) => {
  const buffer = device.createBuffer({ size: Math.max(16, data.byteLength), usage });
  device.queue.writeBuffer(buffer, 0, data as Float32Array<ArrayBuffer>);
  return buffer;
};
const xBuffer = upload(x);
const yBuffer = upload(y);
const orderBuffer = upload(new Uint32Array(samples));
const residualBuffer = device.createBuffer({ size: 4 * batchSize, usage: STORAGE });
const statsBuffer = device.createBuffer({ size: 8 * samples, usage: STORAGE | 0x4 });
const statsRead = device.createBuffer({ size: 8 * samples, usage: 0x1 | COPY_DST });
const batchUniform = device.createBuffer({ size: 16, usage: UNIFORM | COPY_DST });

const code = await Deno.readTextFile(new URL("logistic_regression.wgsl", import.meta.url));
const module = device.createShaderModule({ code });
const pipeline = (entryPoint: string) =>
  device.createComputePipeline({ layout: "auto", compute: { module, entryPoint } });
const residuals = pipeline("residuals");
const gradients = pipeline("gradients");
const evaluate = pipeline("evaluate");

// Bind groups are made once: the gradient regions never move.
const bind = (
  p: GPUComputePipeline,
  group: number,
  entries: [number, GPUBufferBinding][],
) =>
  device.createBindGroup({
    layout: p.getBindGroupLayout(group),
    entries: entries.map(([binding, resource]) => ({ binding, resource })),
  });
const residualGroup = bind(residuals, 0, [
  [0, { buffer: batchUniform }],
  [1, { buffer: xBuffer }],
  [2, { buffer: yBuffer }],
  [3, { buffer: orderBuffer }],
  [4, w.binding],
  [5, b.binding],
  [6, { buffer: residualBuffer }],
]);
const gradientGroups = [
  bind(gradients, 0, [
    [0, { buffer: batchUniform }],
    [1, { buffer: xBuffer }],
    [3, { buffer: orderBuffer }],
    [6, { buffer: residualBuffer }],
  ]),
  bind(gradients, 1, [[0, w.grad.binding], [1, b.grad.binding]]),
];
const evaluateGroups = [
  bind(evaluate, 0, [
    [0, { buffer: batchUniform }],
    [1, { buffer: xBuffer }],
    [2, { buffer: yBuffer }],
    [4, w.binding],
    [5, b.binding],
  ]),
  bind(evaluate, 1, [[2, { buffer: statsBuffer }]]),
];

const batchParams = new Uint32Array(4);
function setBatch(start: number, size: number) {
  batchParams.set([start, size, features, 0]);
  device.queue.writeBuffer(batchUniform, 0, batchParams);
}

/** Mean loss and accuracy on the training part and on the held-out part (one readback). */
async function report() {
  setBatch(0, samples);
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(evaluate);
  pass.setBindGroup(0, evaluateGroups[0]);
  pass.setBindGroup(1, evaluateGroups[1]);
  pass.dispatchWorkgroups(Math.ceil(samples / 64));
  pass.end();
  encoder.copyBufferToBuffer(statsBuffer, 0, statsRead, 0, 8 * samples);
  device.queue.submit([encoder.finish()]);
  await statsRead.mapAsync(0x1);
  const stats = new Float32Array(statsRead.getMappedRange());
  const mean = (from: number, to: number, k: number) => {
    let s = 0;
    for (let n = from; n < to; n++) s += stats[2 * n + k];
    return s / (to - from);
  };
  const result = {
    loss: mean(0, trainCount, 0),
    trainAccuracy: mean(0, trainCount, 1),
    testAccuracy: mean(trainCount, samples, 1),
  };
  statsRead.unmap();
  return result;
}

const order = Uint32Array.from({ length: trainCount }, (_, i) => i);
const stepsPerEpoch = Math.ceil(trainCount / batchSize);
const first = await report();
console.log(
  `${samples} samples x ${features} features (${trainCount} train), batch ${batchSize}, ` +
    `Adagrad(learning_rate=${learningRate})`,
);
console.log(
  `epoch  0/${epochs}  loss ${first.loss.toFixed(4)}  test accuracy ${
    (100 * first.testAccuracy).toFixed(1)
  }%`,
);
const started = performance.now();
let last = first;
for (let epoch = 1; epoch <= epochs; epoch++) {
  for (let i = order.length - 1; i > 0; i--) {
    const k = Math.floor(random.uniform() * (i + 1));
    [order[i], order[k]] = [order[k], order[i]];
  }
  device.queue.writeBuffer(orderBuffer, 0, order);
  const epochStart = performance.now();
  for (let step = 0; step < stepsPerEpoch; step++) {
    const start = step * batchSize;
    const size = Math.min(batchSize, trainCount - start);
    setBatch(start, size);
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(residuals);
    pass.setBindGroup(0, residualGroup);
    pass.dispatchWorkgroups(Math.ceil(size / 64));
    pass.setPipeline(gradients);
    pass.setBindGroup(0, gradientGroups[0]);
    pass.setBindGroup(1, gradientGroups[1]);
    pass.dispatchWorkgroups(Math.ceil((features + 1) / 64));
    pass.end();
    device.queue.submit([encoder.finish()]);
    // The gradients are already in w.grad and b.grad: applied in place, nothing read back.
    await opt.applyGradients([[w.grad, w], [b.grad, b]]);
  }
  last = await report();
  const seconds = (performance.now() - epochStart) / 1000;
  console.log(
    `epoch ${String(epoch).padStart(2)}/${epochs}  loss ${last.loss.toFixed(4)}  ` +
      `train accuracy ${(100 * last.trainAccuracy).toFixed(1)}%  ` +
      `test accuracy ${(100 * last.testAccuracy).toFixed(1)}%  ` +
      `(${Math.round(stepsPerEpoch / seconds)} steps/s)`,
  );
}
const total = (performance.now() - started) / 1000;
console.log(
  `done: ${opt.iterations} Adagrad steps in ${total.toFixed(1)} s; loss ${
    first.loss.toFixed(4)
  } -> ` +
    `${last.loss.toFixed(4)}, held-out accuracy ${(100 * last.testAccuracy).toFixed(1)}%`,
);
device.destroy();
if (!(last.loss < first.loss)) {
  console.error("the loss did not fall");
  Deno.exit(1);
}
