// installGpu (behind `webgpu-adagrad/node`) on stand-ins for the global object of each runtime:
// Node 20 (no navigator), Node 21+ (a navigator behind a getter with no setter), and runtimes
// that have navigator.gpu already. The real import runs on Node in scripts/npm_checks.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { installGpu } from "../../src/device/_install_gpu.ts";

const fakeGpu = (name: string) => ({ name, requestAdapter: () => Promise.resolve(null) }) as never;
const GLOBALS = { GPUBufferUsage: { STORAGE: 128 }, GPUMapMode: { READ: 1 } };

/** Counts the entry points made. */
function maker(name: string) {
  const made: GPU[] = [];
  return { made, make: () => (made.push(fakeGpu(name)), made[made.length - 1]) };
}

test("installGpu: Node 20, no navigator: defines navigator.gpu and the GPU* globals", () => {
  const target: Record<string, unknown> = {};
  const { made, make } = maker("dawn");
  const gpu = installGpu(target, make, GLOBALS);
  assert.equal(made.length, 1);
  assert.equal(gpu, made[0]);
  assert.equal((target.navigator as { gpu: GPU }).gpu, gpu);
  assert.deepEqual(target.GPUBufferUsage, { STORAGE: 128 });
  assert.deepEqual(target.GPUMapMode, { READ: 1 });
});

test("installGpu: Node 21+, a navigator with a getter only: adds gpu to that navigator", () => {
  const navigator = { userAgent: "Node.js/24" };
  const target = {};
  Object.defineProperty(target, "navigator", { get: () => navigator, configurable: true });
  // What a plain assignment does there: nothing (a TypeError in strict code).
  assert.throws(() => {
    (target as { navigator: unknown }).navigator = { gpu: 1 };
  }, TypeError);
  const { make } = maker("dawn");
  const gpu = installGpu(target, make, GLOBALS);
  assert.equal((target as { navigator: { gpu: GPU } }).navigator.gpu, gpu);
  assert.equal((target as { navigator: typeof navigator }).navigator.userAgent, "Node.js/24");
});

test("installGpu: a runtime with navigator.gpu keeps it and its own globals", () => {
  const own = fakeGpu("runtime");
  const target: Record<string, unknown> = {
    navigator: { gpu: own },
    GPUBufferUsage: { STORAGE: 999 },
  };
  const { made, make } = maker("dawn");
  assert.equal(installGpu(target, make, GLOBALS), own);
  assert.equal(made.length, 0); // Dawn's entry point is not even created
  assert.deepEqual(target.GPUBufferUsage, { STORAGE: 999 });
  assert.deepEqual(target.GPUMapMode, { READ: 1 }); // the missing one is added
});
