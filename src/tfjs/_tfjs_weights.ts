// TfjsAdagrad's weights as TF.js lists them, to and from: `iter`, then each variable's slots named
// `<variable>/<slot>`; accumulators restored before their variables' first step wait in
// PendingWeights.
import * as tf from "@tensorflow/tfjs-core";
import type { AdagradBase } from "../optimizers/adagrad_base.ts";
import type { TfjsNamedTensor } from "./named_tensor.ts";
import type { Mirrors } from "./_mirrors.ts";
import type { PendingWeights } from "./_weights.ts";

/** `getWeights()` and `setWeights()` of one optimizer (`inner`), and the tensors handed out. */
export class TfjsWeights {
  readonly #inner: AdagradBase<object>;
  readonly #pending: PendingWeights;
  /** Tensors handed out by the last get(), freed by the next one or by dispose(). */
  #last: tf.Tensor[] = [];

  constructor(inner: AdagradBase<object>, pending: PendingWeights) {
    this.#inner = inner;
    this.#pending = pending;
  }

  /**
   * `iter` (int32 scalar) first, then every slot of every variable, in the order of their first
   * gradient, then the accumulators still pending. Reads the GPU; the tensors stay valid until
   * the next `get()` or `dispose()`.
   */
  async get(): Promise<TfjsNamedTensor[]> {
    const slots = this.#inner.weights.slice(1) as { name: string; shape: readonly number[] }[];
    const values = (await this.#inner.getWeights()).slice(1) as Float32Array[];
    tf.dispose(this.#last);
    // Accumulators restored by setWeights but not yet given to a variable (no step since a
    // model was loaded) are saved too, under their names.
    const named = [
      { name: "iter", tensor: tf.scalar(this.#inner.iterations, "int32") },
      ...slots.map((s, i) => ({ name: s.name, tensor: tf.tensor(values[i], [...s.shape]) })),
      ...this.#pending.entries.map((e) => ({
        name: e.name,
        tensor: tf.tensor(e.data, [...e.shape]),
      })),
    ];
    this.#last = named.map((n) => n.tensor);
    return named;
  }

  /**
   * Takes back `iter` and the accumulators: those of variables with a mirror (matched to
   * `mirrors` as they are once the tensors are read) at once, the others at their first step.
   *
   * @throws {TypeError} when the optimizer has more than one slot, the list does not start with
   *   `iter`, an entry is not a tensor, or an accumulator does not fit its variable
   * @throws {RangeError} when `iter` is negative or not an integer
   */
  async set(weightValues: TfjsNamedTensor[], mirrors: Mirrors): Promise<void> {
    if (this.#inner.getSlotNames().length > 1) {
      throw new TypeError(
        `TfjsAdagrad.setWeights: optimizer '${this.#inner.name}' has slots ` +
          `${this.#inner.getSlotNames().join(", ")}; setWeights takes back accumulators only: ` +
          `use saveCheckpoint and restoreCheckpoint`,
      );
    }
    const [iter, ...rest] = this.#pending.parse(weightValues);
    const values = await Promise.all(rest.map(async (w) => ({
      name: w.name,
      shape: w.tensor.shape,
      data: new Float32Array(await w.tensor.data() as Float32Array),
    })));
    const iterations = Number((await iter.tensor.data())[0]);
    if (!Number.isSafeInteger(iterations) || iterations < 0) {
      throw new RangeError(`TfjsAdagrad.setWeights: 'iter' must be >= 0, got ${iterations}`);
    }
    this.#pending.verify(values, mirrors.variables);
    this.#pending.set(values);
    this.#inner.iterations = iterations;
    this.#pending.restore(mirrors.variables);
  }

  /** Frees the tensors the last get() handed out. */
  dispose(): void {
    tf.dispose(this.#last);
    this.#last = [];
  }
}
