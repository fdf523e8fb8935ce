// A user's shader binds a variable and its gradient region the way WebGPU invites it,
// `resource: variable` and `resource: variable.grad`: both are GPUBufferBindings whose `size` is
// in bytes, so the shader sees every element. (With `size` counting elements, as before, WebGPU
// bound a quarter of a float32 range and half of a float16 one, and nothing complained.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { Adagrad, type RegionDtype, VariableStore } from "../../mod.ts";
import { dispatchOnce, withDevice } from "../_gpu.ts";
import { rng } from "../_reference.ts";
import { halfValue } from "../../src/_common/float16.ts";
import { COPY_DST, COPY_SRC, MAP_MODE_READ, MAP_READ, STORAGE } from "../../src/_common/usage.ts";

const WORKGROUP = 64;

// grad = -2 * weights, every element; the bound length (arrayLength) says where to stop, as a
// user's kernel would have it.
const FLOAT32_KERNEL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> weights: array<f32>;
@group(0) @binding(1) var<storage, read_write> grad: array<f32>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) id: vec3u) {
  let i = id.x;
  if (i < arrayLength(&grad)) {
    grad[i] = -2.0 * weights[i];
  }
}`;

// The same for a float16 store: one thread per 32-bit word of two halves; the last word of an
// odd-length region carries a padding half, written as 0.
const FLOAT16_KERNEL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> weights: array<f32>;
@group(0) @binding(1) var<storage, read_write> grad: array<u32>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) id: vec3u) {
  let w = id.x;
  if (w >= arrayLength(&grad)) {
    return;
  }
  let lo = -2.0 * weights[2u * w];
  var hi = 0.0;
  if (2u * w + 1u < arrayLength(&weights)) {
    hi = -2.0 * weights[2u * w + 1u];
  }
  grad[w] = pack2x16float(vec2f(lo, hi));
}`;

/** A copy of the whole of `buffer` (COPY_SRC), as bytes. */
async function readWhole(device: GPUDevice, buffer: GPUBuffer): Promise<Uint8Array> {
  const staging = device.createBuffer({ size: buffer.size, usage: MAP_READ | COPY_DST });
  try {
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, 0, staging, 0, buffer.size);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(MAP_MODE_READ);
    return new Uint8Array(staging.getMappedRange().slice(0));
  } finally {
    staging.destroy();
  }
}

/**
 * Random non-zero values that float16 holds exactly (odd multiples of 0.5 below 512 in
 * magnitude), so that -2x is exact in both element types.
 */
function halfExactValues(random: () => number, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => Math.floor(random() * 1023) - 511 + 0.5);
}

// Not multiples of the workgroup size (64); odd ones leave a padding half in a float16 region.
const SIZES = [1, 3, 63, 65, 100, 1000, 1027, 4097];

for (const gradDtype of ["float32", "float16"] as RegionDtype[]) {
  test(`a user's kernel bound with resource: variable, variable.grad sees every element (${gradDtype})`, async () => {
    await withDevice(async (device, own) => {
      const random = rng(gradDtype === "float32" ? 260 : 261);
      const store = own(new VariableStore(device, { gradDtype }));
      const inits = SIZES.map((n) => halfExactValues(random, n));
      const vars = SIZES.map((n, i) => store.variable(`v${i}`, [n], inits[i]));
      const module = device.createShaderModule({
        code: gradDtype === "float32" ? FLOAT32_KERNEL : FLOAT16_KERNEL,
      });
      const pipeline = device.createComputePipeline({
        layout: "auto",
        compute: { module, entryPoint: "main" },
      });
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      for (const v of vars) {
        const grad = v.grad;
        pass.setBindGroup(
          0,
          device.createBindGroup({
            layout: pipeline.getBindGroupLayout(0),
            entries: [
              { binding: 0, resource: v }, // the variable itself, read
              { binding: 1, resource: grad }, // the region itself: the natural binding
            ],
          }),
        );
        const threads = gradDtype === "float32" ? grad.length : Math.ceil(grad.length / 2);
        pass.dispatchWorkgroups(Math.ceil(threads / WORKGROUP));
      }
      pass.end();
      device.queue.submit([encoder.finish()]);

      // The whole gradient buffer: every element of every region, and the gaps between regions.
      const buffer = vars[0].grad.buffer;
      const bytes = await readWhole(device, buffer);
      const view = new DataView(bytes.buffer);
      const written = new Uint8Array(bytes.length); // 1 where a region lies
      vars.forEach((v, k) => {
        const { offset, size, length } = v.grad;
        written.fill(1, offset, offset + size);
        for (let i = 0; i < length; i++) {
          const actual = gradDtype === "float32"
            ? view.getFloat32(offset + 4 * i, true)
            : halfValue(view.getUint16(offset + 2 * i, true));
          const expected = -2 * inits[k][i];
          if (actual !== expected) {
            assert.fail(
              `variable v${k} (${length} elements, ${size} bytes at ${offset}): element ${i} is ` +
                `${actual}, expected ${expected}; the kernel did not see the whole region`,
            );
          }
        }
        if (gradDtype === "float16" && length % 2 === 1) {
          assert.equal(view.getUint16(offset + 2 * length, true), 0, `v${k}: padding half`);
        }
      });
      // Nothing was written outside the regions (the alignment gaps stay zero).
      for (let b = 0; b < bytes.length; b++) {
        if (!written[b] && bytes[b] !== 0) assert.fail(`byte ${b}, outside every region, is set`);
      }
      for (const v of vars) {
        assert.equal(v.size, 4 * v.length);
        assert.equal(v.grad.dtype, gradDtype);
        assert.equal(v.grad.length, v.length);
        assert.equal(v.grad.size, v.grad.byteLength);
      }
    });
  });
}

test("a slot's region binds with resource: slot.region and holds every accumulator", async () => {
  await withDevice(async (device, own) => {
    const random = rng(262);
    const store = own(new VariableStore(device));
    const vars = [65, 1027].map((n, i) => store.variable(`s${i}`, [n], halfExactValues(random, n)));
    const opt = own(new Adagrad({ learningRate: 0.1 }));
    await opt.applyGradients(vars.map((v) => [halfExactValues(random, v.length), v]));
    const module = device.createShaderModule({
      code: /* wgsl */ `
@group(0) @binding(0) var<storage, read> slot: array<f32>;
@group(0) @binding(1) var<storage, read_write> copy: array<f32>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) id: vec3u) {
  if (id.x < arrayLength(&slot)) {
    copy[id.x] = slot[id.x];
  }
}`,
    });
    const pipeline = device.createComputePipeline({
      layout: "auto",
      compute: { module, entryPoint: "main" },
    });
    for (const v of vars) {
      const slot = opt.getSlot(v, "accumulator");
      const region = slot.region;
      const out = own(device.createBuffer({ size: 4 * slot.length, usage: STORAGE | COPY_SRC }));
      dispatchOnce(
        device,
        pipeline,
        { 0: region, 1: { buffer: out } },
        Math.ceil(slot.length / WORKGROUP),
      );
      const copied = new Float32Array((await readWhole(device, out)).buffer);
      assert.deepEqual(copied, await slot.read());
      assert.equal(slot.length, v.length);
      assert.equal(region.size, v.size);
    }
  });
});
