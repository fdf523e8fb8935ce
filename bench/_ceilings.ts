// The benchmark's ceilings: what the adapter does when it only moves a step's bytes. Each is a
// `Running` (see _contenders.ts), timed like the contenders.
import { dispatchShapeFor } from "../src/_kernels/kernels.ts";
import { dispatchGrid, tableWords, writeTiles } from "../src/_kernels/tiles.ts";
import type { Running } from "./_contenders.ts";

const STORAGE = 0x80, COPY_SRC = 0x4, COPY_DST = 0x8;

/**
 * Bytes a dense step reads and writes per parameter: the gradient, the accumulator and the
 * variable read (12), the accumulator and the variable written (8).
 */
export const DENSE_STEP_BYTES = 20;

/**
 * Bytes a sparse step must read and write, FBGEMM's count over distinct rows: per index, its
 * 4-byte index and its gradient value row (4 x width); per distinct touched row, the variable row
 * and the accumulator row read and written (16 x width). The sort's own traffic is not counted:
 * it is the price of the method, not of the step.
 */
export function sparseStepBytes(indices: number, distinctRows: number, width: number): number {
  return indices * (4 + 4 * width) + distinctRows * 16 * width;
}

/**
 * FBGEMM's bandwidth count for element-wise sparse Adagrad (bench/SparseAdagradBenchmark.cc:
 * `5 * sizeof(float) * num_rows * block_size`): per index, the weights, the accumulator and the
 * gradient row read and the weights and accumulator written, duplicates counted each time, the
 * indices not counted.
 */
export function fbgemmSparseBytes(indices: number, width: number): number {
  return indices * 20 * width;
}

/**
 * The copy ceiling: one `copyBufferToBuffer` of half the step's traffic (a copy reads and writes
 * each byte, so copying `trafficBytes / 2` moves `trafficBytes`). For a dense step, 10 bytes per
 * parameter.
 */
export function copyCeiling(device: GPUDevice, trafficBytes: number): Running {
  const bytes = Math.max(4, Math.ceil(trafficBytes / 2 / 4) * 4);
  const src = device.createBuffer({ size: bytes, usage: COPY_SRC });
  const dst = device.createBuffer({ size: bytes, usage: COPY_DST });
  return {
    device,
    step() {
      const encoder = device.createCommandEncoder();
      encoder.copyBufferToBuffer(src, 0, dst, 0, bytes);
      device.queue.submit([encoder.finish()]);
    },
    sync: () => device.queue.onSubmittedWorkDone(),
    dispose: () => [src.destroy(), dst.destroy()],
  };
}

/**
 * The streaming-kernel ceiling (stream_ceiling.wgsl): one dispatch that reads the variable, the
 * accumulator and the gradient and writes the variable and the accumulator, with vec4 loads and
 * stores, over variables of `sizes` laid out as a store lays them out (offsets aligned as the
 * store aligns them) and tiled as the step tiles them; no Adagrad arithmetic.
 */
export async function streamCeiling(device: GPUDevice, sizes: number[]): Promise<Running> {
  // The package's interface and dispatch parts in front, as scripts/gen_shaders.ts assembles the
  // kernels (shaders/_prelude.wgsl was split into them).
  const parts = await Promise.all(
    [
      new URL("../shaders/_interface.wgsl", import.meta.url),
      new URL("../shaders/_dispatch.wgsl", import.meta.url),
      new URL("stream_ceiling.wgsl", import.meta.url),
    ]
      .map((url) => Deno.readTextFile(url)),
  );
  const code = parts.join("\n");
  const shape = dispatchShapeFor(device); // the step's own tiles and lanes on this adapter
  const pipeline = device.createComputePipeline({
    layout: "auto",
    compute: {
      module: device.createShaderModule({ code }),
      entryPoint: "stream",
      constants: { LANE_BLOCK: shape.laneBlock },
    },
  });
  const align = Math.max(16, device.limits.minStorageBufferOffsetAlignment) / 4;
  let elements = 0;
  const sources = sizes.map((length, id) => {
    const offset = elements;
    elements = Math.ceil((offset + length) / align) * align;
    return { varOffset: offset, slotOffset: offset, length, id };
  });
  const tile = shape.tileElements;
  const words = new Uint32Array(tableWords(sources, tile));
  const tiles = writeTiles(sources, tile, words);
  const buffer = (size: number, usage: number) =>
    device.createBuffer({ size, usage: usage | COPY_DST });
  const table = buffer(words.byteLength, STORAGE);
  device.queue.writeBuffer(table, 0, words);
  const arenas = [0, 1, 2].map(() => buffer(elements * 4, STORAGE));
  const fill = new Float32Array(elements).fill(0.25);
  for (const b of arenas) device.queue.writeBuffer(b, 0, fill);
  const group = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [table, ...arenas].map((b, binding) => ({ binding, resource: { buffer: b } })),
  });
  const grid = dispatchGrid(tiles, device.limits.maxComputeWorkgroupsPerDimension);
  return {
    device,
    step() {
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(...grid);
      pass.end();
      device.queue.submit([encoder.finish()]);
    },
    sync: () => device.queue.onSubmittedWorkDone(),
    dispose: () => [table, ...arenas].forEach((b) => b.destroy()),
  };
}
