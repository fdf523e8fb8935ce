// The mixed-precision contenders: this package's dense step with float16 gradients (a store made
// with `gradDtype: "float16"`, gradients written in place), and with a dynamic LossScaleOptimizer
// unscaling float32 gradients of a scaled loss in the update kernel. Each is timed against the
// plain float32 step of the same case, in the same rounds.
import { Adagrad, LossScaleOptimizer, VariableStore } from "../mod.ts";
import { halfBits } from "../src/_common/float16.ts";
import { type BenchCase, random, type Running } from "./_contenders.ts";

/** Float16 gradients in a float16 store's gradient arena, used in place. */
export function halfGradients(device: GPUDevice, c: BenchCase): Running {
  const store = new VariableStore(device, { gradDtype: "float16" });
  const opt = new Adagrad({ learningRate: 0.01, ...c.clip });
  const vars = c.sizes.map((n, i) => store.variable(`v${i}`, [n], random(n)));
  for (const v of vars) {
    const bits = new Uint16Array(v.grad.byteLength / 2);
    bits.set(Uint16Array.from(random(v.length), halfBits));
    device.queue.writeBuffer(v.grad.buffer, v.grad.offset, bits);
  }
  const pairs = vars.map((v) => [v.grad, v] as const);
  return {
    device,
    step: () => opt.applyGradients(pairs),
    sync: () => device.queue.onSubmittedWorkDone(),
    dispose: () => [opt.destroy(), store.destroy()],
  };
}

/** A dynamic LossScaleOptimizer given gradients of the scaled loss (unscaled in the kernel). */
export function lossScaled(device: GPUDevice, c: BenchCase): Running {
  const store = new VariableStore(device);
  const opt = new LossScaleOptimizer(new Adagrad({ learningRate: 0.01, ...c.clip }));
  const vars = c.sizes.map((n, i) => store.variable(`v${i}`, [n], random(n)));
  for (const v of vars) {
    device.queue.writeBuffer(
      v.grad.buffer,
      v.grad.offset,
      random(v.length).map((x) => x * 2 ** 15),
    );
  }
  const pairs = vars.map((v) => [v.grad, v] as const);
  return {
    device,
    step: () => opt.applyGradients(pairs, { scaled: true }),
    sync: () => device.queue.onSubmittedWorkDone(),
    dispose: () => [opt.destroy(), store.destroy()],
  };
}
