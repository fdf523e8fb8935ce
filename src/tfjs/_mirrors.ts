// TF.js's variables mirrored in this package's store: each variable the optimizer steps has a copy
// in the store arenas (the step's working area), copied in before the step and back out after it,
// in the step's own encoder. The copy-in is skipped while a variable is as our last copy-out left
// it. The device of the first step is adopted here: the mirrors, hence the accumulators, live there.
import type * as tf from "@tensorflow/tfjs-core";
import type { StepHooks } from "../_step/step_options.ts";
import type { Variable } from "../memory/variable.ts";
import { VariableStore } from "../memory/variable_store.ts";
import {
  copyOutsOf,
  dropCpuCopy,
  noteCopyOut,
  ownData,
  variableBuffer,
  type WebGpuBackend,
} from "./_backend.ts";

/** A variable as our last copy-out left it. */
interface Synced {
  dataId: object;
  buffer: GPUBuffer;
  writes: number;
}

/** A variable the step writes in place: its TF.js buffer, copied to and from its mirror. */
export interface Move {
  name: string;
  variable: tf.Variable;
  buffer: GPUBuffer;
  bytes: number;
}

/** The mirrors of one TfjsAdagrad: made, kept in sync, and freed with it. */
export class Mirrors {
  /** The device of the backend of the first step: the store, and the accumulators, live there. */
  #device: GPUDevice | null = null;
  #store: VariableStore | null = null;
  /** Each TF.js variable's copy in the store arenas (the step's working area), by name. */
  readonly #mirrors = new Map<string, Variable>();
  /**
   * What each variable was right after our last copy-out: while its dataId, buffer and that
   * buffer's write count are unchanged, its mirror already holds its value and the copy-in is
   * skipped (TF.js tensors are immutable: `assign` and `setWeights` swap the dataId).
   */
  readonly #synced = new Map<string, Synced>();

  /**
   * Returns `backend` (the active WebGPU backend); the first call adopts its device, later ones
   * must be on it (a new backend on the same device, registered again, is fine).
   */
  adopt(backend: WebGpuBackend): WebGpuBackend {
    if (this.#device !== null && backend.device !== this.#device) {
      throw new TypeError(
        "TfjsAdagrad: the active WebGPU backend is on another GPUDevice than the one this " +
          "optimizer trained on; its accumulators live there: switch back, or make a new optimizer",
      );
    }
    this.#device ??= backend.device;
    return backend;
  }

  /** Whether the variable named `name` has a mirror. */
  has(name: string): boolean {
    return this.#mirrors.has(name);
  }

  /** The names of the mirrored variables, in the order of their first gradient. */
  get names(): string[] {
    return [...this.#mirrors.keys()];
  }

  /** The mirrors, in the order of their variables' first gradient. */
  get variables(): Variable[] {
    return [...this.#mirrors.values()];
  }

  /** The variable's copy in the store, declared on its first gradient (after `adopt`). */
  mirror(name: string, variable: tf.Variable): Variable {
    let mirror = this.#mirrors.get(name);
    if (!mirror) {
      this.#store ??= new VariableStore(this.#device!, { label: "webgpu-adagrad tfjs" });
      mirror = this.#store.variable(name, variable.shape);
      this.#mirrors.set(name, mirror);
    }
    return mirror;
  }

  /**
   * The variables the step will write, with their buffers: each gets data of its own first when
   * other tensors share it (the copy-out writes in place), then goes to the GPU.
   */
  moves(
    backend: WebGpuBackend,
    given: readonly { name: string; variable: tf.Variable }[],
  ): Move[] {
    for (const s of given) ownData(backend, s.variable);
    return given.map((s) => ({
      name: s.name,
      variable: s.variable,
      buffer: variableBuffer(backend, s.variable),
      bytes: s.variable.size * 4,
    }));
  }

  /** The step's hooks: copy each variable in (unless its mirror holds it) and back out. */
  hooks(moves: readonly Move[]): StepHooks {
    return {
      before: (encoder) => {
        for (const m of moves) {
          if (this.#inSync(m)) continue;
          const mirror = this.#mirrors.get(m.name)!;
          encoder.copyBufferToBuffer(m.buffer, 0, mirror.buffer, mirror.offset, m.bytes);
        }
      },
      after: (encoder) => {
        for (const m of moves) {
          const mirror = this.#mirrors.get(m.name)!;
          encoder.copyBufferToBuffer(mirror.buffer, mirror.offset, m.buffer, 0, m.bytes);
        }
      },
    };
  }

  /** After the step is submitted: TF.js's CPU copies are stale, and the mirrors in sync. */
  copiedOut(backend: WebGpuBackend, moves: readonly Move[]): void {
    for (const m of moves) {
      dropCpuCopy(backend, m.variable);
      const writes = noteCopyOut(m.buffer);
      this.#synced.set(m.name, { dataId: m.variable.dataId, buffer: m.buffer, writes });
    }
  }

  /** The step may not have run: every variable is copied in next time. */
  unsync(): void {
    this.#synced.clear();
  }

  /** Frees the store (the mirrors). */
  destroy(): void {
    this.#store?.destroy();
  }

  /** Whether the variable's mirror holds its current value (see #synced). */
  #inSync(m: Move): boolean {
    const s = this.#synced.get(m.name);
    return s !== undefined && s.dataId === m.variable.dataId && s.buffer === m.buffer &&
      s.writes === copyOutsOf(m.buffer);
  }
}
