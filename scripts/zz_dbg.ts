import { Adagrad, VariableStore, requestDevice } from "../mod.ts";
import { setTileElements } from "../src/_kernels/kernels.ts";
const device = await requestDevice();
const orig = GPUComputePassEncoder.prototype.dispatchWorkgroups;
let wg = 0;
GPUComputePassEncoder.prototype.dispatchWorkgroups = function (x: number, y = 1, z = 1) { wg += x * y * z; return orig.call(this, x, y, z); };
for (const tile of [4096, 16384, 4096, 16384]) {
  setTileElements(tile);
  const store = new VariableStore(device);
  const v = store.variable("v", [16 << 20], 0.5);
  device.queue.writeBuffer(v.grad.buffer, v.grad.offset, new Float32Array(16 << 20).fill(0.01));
  const opt = new Adagrad({ learningRate: 0.01 });
  for (let i = 0; i < 3; i++) await opt.applyGradients([[v.grad, v]]);
  await device.queue.onSubmittedWorkDone();
  wg = 0;
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) await opt.applyGradients([[v.grad, v]]);
  await device.queue.onSubmittedWorkDone();
  console.log(tile, "ms/step", ((performance.now() - t0) / 20).toFixed(2), "workgroups/step", wg / 20);
  opt.destroy(); store.destroy();
}
