import { Adagrad, VariableStore } from "../mod.ts";
const adapter = await navigator.gpu.requestAdapter();
const device = await adapter!.requestDevice();
const shapes: Record<string, number[]> = { table: [301, 7], vector: [2500], bias: [5] };
const mk = (max?: number) => { const s = new VariableStore(device, { maxArenaBytes: max }); return Object.fromEntries(Object.entries(shapes).map(([n, sh]) => [n, s.variable(n, sh, 1)])); };
for (const opts of [{ learningRate: 0.1 }, { learningRate: 0.1, clipnorm: 3 }]) {
  for (const mode of ["upload", "windows"]) {
    const a = mk(4096), b = mk();
    const oa = new Adagrad(opts), ob = new Adagrad(opts);
    const gs = Object.fromEntries(Object.entries(shapes).map(([n, sh]) => [n, Float32Array.from({ length: sh.reduce((x, y) => x * y, 1) }, (_, i) => Math.sin(i + n.length))]));
    const pa = Object.entries(a).map(([n, v]) => {
      if (mode === "windows" && n === "table") { for (const w of v.windows) device.queue.writeBuffer(w.grad.buffer, w.grad.offset, gs[n], w.first, w.length); return [v.windows as never, v]; }
      return [gs[n], v];
    });
    await oa.applyGradients(pa as never); await ob.applyGradients(Object.entries(b).map(([n, v]) => [gs[n], v]) as never);
    for (const n of Object.keys(shapes)) {
      const ra = await a[n].read(), rb = await b[n].read();
      const diff = []; for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) diff.push(i);
      console.log(JSON.stringify(opts), mode, n, "diffs", diff.length, diff.slice(0, 4));
    }
  }
}
