// Reading a save's windows back from the GPU, two at a time: while the caller copies one window
// out of its mapped staging buffer and writes it to the file, the GPU copies the next one into the
// other staging buffer. Each device a window touches has its own pair of staging buffers, made on
// first use and destroyed by `destroy()`.
import { COPY_DST, MAP_MODE_READ, MAP_READ } from "../_common/usage.ts";
import { assertDeviceAliveSoon } from "../device/device_lost.ts";
import type { SaveTensor } from "./_save_plan.ts";
import { recordTensorRead, targetDevice } from "./_tensor_io.ts";
import type { Piece, Window } from "./_windows.ts";

/** A window read back and mapped: `copyInto` fills `out` (the window's bytes) and unmaps. */
export type MappedWindow = (out: Uint8Array) => void;

export class WindowReader {
  readonly #tensors: readonly SaveTensor[];
  readonly #stagingSize: number;
  readonly #caller: string;
  readonly #stagings = new Map<GPUDevice, [GPUBuffer | null, GPUBuffer | null]>();

  constructor(tensors: readonly SaveTensor[], stagingSize: number, caller: string) {
    this.#tensors = tensors;
    this.#stagingSize = stagingSize;
    this.#caller = caller;
  }

  #staging(device: GPUDevice, parity: 0 | 1): GPUBuffer {
    let pair = this.#stagings.get(device);
    if (!pair) this.#stagings.set(device, pair = [null, null]);
    return pair[parity] ??= device.createBuffer({
      label: `webgpu-adagrad checkpoint staging ${parity}`,
      size: this.#stagingSize,
      usage: MAP_READ | COPY_DST,
    });
  }

  /**
   * Submits the copies of window `w` into the staging buffers of `parity` (which the window read
   * two calls ago must have released) and maps them.
   */
  begin(w: Window, parity: 0 | 1): Promise<MappedWindow> {
    const reads = new Map<GPUDevice, { encoder: GPUCommandEncoder; pieces: Piece[] }>();
    const cpu: Piece[] = [];
    for (const piece of w.pieces) {
      const { source } = this.#tensors[piece.tensor];
      if (source instanceof Uint8Array) {
        cpu.push(piece);
        continue;
      }
      const device = targetDevice(source);
      let read = reads.get(device);
      if (!read) reads.set(device, read = { encoder: device.createCommandEncoder(), pieces: [] });
      const { firstByte, byteLength, at } = piece;
      const staging = this.#staging(device, parity);
      recordTensorRead(read.encoder, source, firstByte / 4, byteLength / 4, staging, at);
      read.pieces.push(piece);
    }
    const mapped = [...reads].map(async ([device, { encoder, pieces }]) => {
      const staging = this.#staging(device, parity);
      device.queue.submit([encoder.finish()]);
      try {
        await staging.mapAsync(MAP_MODE_READ, 0, w.length);
      } catch (e) {
        await assertDeviceAliveSoon(device, this.#caller); // a lost device is the likely cause
        throw e;
      }
      return { staging, pieces };
    });
    return Promise.all(mapped).then((stagings) => (out: Uint8Array) => {
      for (const { tensor, firstByte, byteLength, at } of cpu) {
        const source = this.#tensors[tensor].source as Uint8Array;
        out.set(source.subarray(firstByte, firstByte + byteLength), at);
      }
      for (const { staging, pieces } of stagings) {
        try {
          const bytes = new Uint8Array(staging.getMappedRange(0, w.length));
          for (const { at, byteLength } of pieces) out.set(bytes.subarray(at, at + byteLength), at);
        } finally {
          staging.unmap();
        }
      }
    });
  }

  destroy(): void {
    for (const pair of this.#stagings.values()) for (const staging of pair) staging?.destroy();
  }
}
