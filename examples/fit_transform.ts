/**
 * A small dense example with wgpu-matrix, the WebGPU math library: fit a 4x4 transform to noisy
 * point correspondences. wgpu-matrix builds the ground truth (a rotation, a scale and a
 * translation) and checks the result; a WGSL kernel (fit_transform.wgsl) writes the gradient of
 * the mean squared error into the matrix's gradient region; Adagrad applies it in place.
 *
 *     deno task example:transform [--steps 300] [--points 1000] [--lr 0.3] [--mixed-precision]
 *
 * `--mixed-precision` trains as Keras's `mixed_float16` policy does: the kernel writes float16
 * gradients of the loss times a dynamic loss scale (read from the optimizer's scale binding), and
 * a LossScaleOptimizer unscales them in its update.
 *
 * @module
 */
import process from "node:process";
import { readFile } from "node:fs/promises";
import { mat4, vec3 } from "wgpu-matrix";
import { mulberry32 } from "./_random.ts";
import { Adagrad, LossScaleOptimizer, requestDevice, VariableStore } from "../mod.ts";

/** What the fit reached. */
export interface FitResult {
  /** Largest absolute difference between the fitted and the true matrix, before and after. */
  initialError: number;
  finalError: number;
  /** Mean distance between transformed test points, fitted vs true (wgpu-matrix). */
  pointError: number;
  /** With mixed precision: the loss scale at the end (it halves on every float16 overflow). */
  lossScale?: number;
}

/** Fits the transform on `device`. */
export async function fitTransform(
  device: GPUDevice,
  { steps = 300, points = 1000, lr = 0.3, seed = 5, mixedPrecision = false } = {},
): Promise<FitResult> {
  const random = mulberry32(seed);
  const truth = mat4.multiply(
    mat4.translation([0.5, -1.25, 2]),
    mat4.multiply(mat4.rotationY(0.7), mat4.scaling([1.5, 0.8, 1.1])),
  );
  // p_i and noisy q_i = truth * p_i, homogeneous.
  const data = new Float32Array(points * 8);
  for (let i = 0; i < points; i++) {
    const p = [random() * 4 - 2, random() * 4 - 2, random() * 4 - 2];
    const q = vec3.transformMat4(p, truth);
    data.set([...p, 1, ...Array.from(q, (x) => x + (random() - 0.5) * 0.02), 1], i * 8);
  }
  const store = new VariableStore(device, { gradDtype: mixedPrecision ? "float16" : "float32" });
  const m = store.variable("transform", [4, 4], mat4.identity() as Float32Array);
  const inner = new Adagrad({ learningRate: lr });
  const opt = mixedPrecision ? new LossScaleOptimizer(inner) : inner;
  const code = await readFile(new URL("fit_transform.wgsl", import.meta.url), "utf8");
  const pipeline = device.createComputePipeline({
    layout: "auto",
    compute: {
      module: device.createShaderModule({ code }),
      entryPoint: mixedPrecision ? "gradient_f16" : "gradient",
    },
  });
  const info = device.createBuffer({ size: 16, usage: 0x40 | 0x8 });
  device.queue.writeBuffer(info, 0, new Uint32Array([points, m.offset / 4, m.grad.offset / 4, 0]));
  const pairs = device.createBuffer({ size: data.byteLength, usage: 0x80 | 0x8 });
  device.queue.writeBuffer(pairs, 0, data);
  const group = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: info } },
      { binding: 1, resource: { buffer: pairs } },
      { binding: 2, resource: { buffer: m.buffer } },
      { binding: 3, resource: { buffer: m.grad.buffer } },
      ...(opt instanceof LossScaleOptimizer
        ? [{ binding: 4, resource: opt.scaleBinding(device) }]
        : []),
    ],
  });
  const maxError = (fitted: Float32Array) =>
    Math.max(...Array.from(fitted, (x, i) => Math.abs(x - truth[i])));
  const initialError = maxError(await m.read());
  for (let step = 0; step < steps; step++) {
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(1);
    pass.end();
    device.queue.submit([encoder.finish()]);
    await (opt instanceof LossScaleOptimizer
      ? opt.applyGradients([[m.grad, m]], { scaled: true })
      : opt.applyGradients([[m.grad, m]]));
  }
  const fitted = await m.read();
  const lossScale = opt instanceof LossScaleOptimizer ? await opt.lossScale() : undefined;
  let pointError = 0;
  for (let i = 0; i < 100; i++) {
    const p = [random() * 4 - 2, random() * 4 - 2, random() * 4 - 2];
    pointError += vec3.distance(vec3.transformMat4(p, fitted), vec3.transformMat4(p, truth)) / 100;
  }
  info.destroy();
  pairs.destroy();
  opt.destroy();
  store.destroy();
  return { initialError, finalError: maxError(fitted), pointError, lossScale };
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const arg = (name: string, fallback: number) =>
    args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : fallback;
  const device = await requestDevice();
  const t0 = performance.now();
  const r = await fitTransform(device, {
    steps: arg("steps", 300),
    points: arg("points", 1000),
    lr: arg("lr", 0.3),
    mixedPrecision: args.includes("--mixed-precision"),
  });
  console.log(
    `fitted a 4x4 transform in ${((performance.now() - t0) / 1000).toFixed(1)} s: largest entry ` +
      `error ${r.initialError.toFixed(3)} -> ${r.finalError.toFixed(4)}; test points land ` +
      `${r.pointError.toFixed(4)} from where the true transform puts them` +
      (r.lossScale === undefined
        ? ""
        : `; float16 gradients, loss scale ${r.lossScale} at the end`),
  );
  device.destroy();
}
