// The variables of the rules' reference tests: store variables of sizes around the workgroup
// (256) and tile (4096) sizes in small arenas, and two variables in one caller buffer (the
// scalar kernel), each with its float64 state and the region to read it back from.
import { type VariableRef, VariableStore } from "../../mod.ts";
import { COPY_DST, COPY_SRC, STORAGE } from "../../src/_common/usage.ts";
import { randomValues } from "../_reference.ts";

/** None a multiple of 256 or 4096 but 4096. */
export const SIZES = [1, 7, 255, 257, 4095, 4096, 4097, 12289, 70001];

/** A variable of the run: a store's, or bytes of a caller's buffer; its region for reads. */
export interface Tracked<S> {
  ref: VariableRef;
  name: string;
  region: { buffer: GPUBuffer; offset: number; byteLength: number };
  n: number;
  state: S;
}

/** Store variables of SIZES in 300 KiB arenas, and two variables in one caller buffer. */
export function trackedVariables<S>(
  device: GPUDevice,
  own: <D extends { destroy(): void }>(d: D) => D,
  random: () => number,
  state: (init: Float32Array) => S,
): Tracked<S>[] {
  const store = own(new VariableStore(device, { maxArenaBytes: 300 * 1024 }));
  const tracked: Tracked<S>[] = SIZES.map((n, i) => {
    const init = randomValues(random, n);
    const v = store.variable(`layer${i}/${i % 3 === 0 ? "bias" : "kernel"}`, [n], init);
    return { ref: v, name: v.name, region: v, n, state: state(init) };
  });
  const buffer = own(device.createBuffer({
    label: "mine",
    size: 4 * 3000,
    usage: STORAGE | COPY_SRC | COPY_DST,
  }));
  for (const [offset, n] of [[5, 1000], [1500, 333]]) {
    const init = randomValues(random, n);
    device.queue.writeBuffer(buffer, 4 * offset, init);
    const ref = { buffer, offset: 4 * offset, size: 4 * n, name: `ext${offset}` };
    tracked.push({
      ref,
      name: ref.name,
      region: { buffer, offset: 4 * offset, byteLength: 4 * n },
      n,
      state: state(init),
    });
  }
  return tracked;
}
