// Accumulators given to TfjsAdagrad.setWeights before the optimizer has seen their variables
// (loading a saved model restores the optimizer before the first step), kept until it has.
import type * as tf from "@tensorflow/tfjs-core";
import type { TfjsNamedTensor } from "./named_tensor.ts";
import { type AdagradBase, optimizerKind } from "../optimizers/adagrad_base.ts";
import type { Variable } from "../memory/variable.ts";
import { describe } from "../_common/validate.ts";

/** One accumulator's values, its saved name and its position among the accumulators. */
interface Entry {
  name: string;
  shape: readonly number[];
  data: Float32Array;
  position: number;
}

/** The accumulators of one optimizer (`inner`) waiting for their variables. */
export class PendingWeights {
  readonly #inner: AdagradBase<object>;
  #entries: Entry[] = [];

  constructor(inner: AdagradBase<object>) {
    this.#inner = inner;
  }

  /** Elements of a variable's accumulator: its size, or its rows for the row-wise optimizer. */
  #slotSize(shape: readonly number[]): number {
    return optimizerKind(this.#inner).variant.slotShape(shape).reduce((a, b) => a * b, 1);
  }

  /**
   * The accumulator's slot name, its suffix in saved names: the rule's last slot (`accumulator`,
   * PyTorch's `sum`, and so on: each rule's `slots` in src/rules/).
   */
  #slot(): string {
    return this.#inner.getSlotNames().at(-1)!;
  }

  /** The accumulators not yet given to a variable, with their saved names, in their order. */
  get entries(): readonly { name: string; shape: readonly number[]; data: Float32Array }[] {
    return this.#entries;
  }

  /** Checks a `setWeights` list: `iter` first, then `{ name, tensor }` entries. */
  parse(list: readonly TfjsNamedTensor[]): TfjsNamedTensor[] {
    if (!Array.isArray(list) || list.length === 0) {
      throw new TypeError(
        `TfjsAdagrad.setWeights: expected [{ name: "iter", tensor }, ...accumulators], got ` +
          describe(list),
      );
    }
    list.forEach((w, i) => {
      const ok = typeof w === "object" && w !== null && typeof w.name === "string" &&
        typeof (w.tensor as { dataSync?: unknown })?.dataSync === "function";
      if (!ok) {
        throw new TypeError(`TfjsAdagrad.setWeights: entry ${i} is not a NamedTensor`);
      }
      if (i > 0 && w.tensor.dtype !== "float32") {
        throw new TypeError(
          `TfjsAdagrad.setWeights: '${w.name}' is ${w.tensor.dtype}, not float32`,
        );
      }
    });
    if (list[0].name !== "iter" || list[0].tensor.size !== 1) {
      throw new TypeError(
        `TfjsAdagrad.setWeights: the first weight must be the scalar 'iter', got '${list[0].name}'`,
      );
    }
    return [...list];
  }

  /** Replaces what is pending with `values` (the accumulators of a setWeights list, in order). */
  set(values: readonly { name: string; shape: readonly number[]; data: Float32Array }[]): void {
    this.#entries = values.map((v, position) => ({ ...v, position }));
  }

  /** Variable names the optimizer knows: an accumulator naming one is matched by name only. */
  #known = new Set<string>();

  /** The entry for the mirror at `index` (creation order) named `name`: by name, else position. */
  #match(name: string, index: number, taken: Set<Entry>): Entry | undefined {
    const suffix = `/${this.#slot()}`;
    const free = this.#entries.filter((e) => !taken.has(e));
    return free.find((e) => e.name === name + suffix) ??
      free.find((e) => e.position === index && !this.#known.has(e.name.slice(0, -suffix.length)));
  }

  /**
   * Before a step declares `fresh` variables (after `known` ones): throws a TypeError, before
   * anything is written, if a pending accumulator that would go to one of them has another shape.
   */
  check(fresh: readonly tf.Variable[], known: readonly string[]): void {
    if (this.#entries.length === 0) return;
    this.#known = new Set([...known, ...fresh.map((v) => v.name)]);
    const taken = new Set<Entry>();
    fresh.forEach((v, k) => {
      const e = this.#match(v.name, known.length + k, taken);
      if (!e) return;
      taken.add(e);
      this.#checkSize(e, v.name, v.shape);
    });
  }

  #checkSize(e: Entry, name: string, shape: readonly number[]): void {
    if (e.data.length !== this.#slotSize(shape)) {
      throw new TypeError(
        `TfjsAdagrad: the saved accumulator '${e.name}' has shape [${e.shape}], which does not ` +
          `fit variable '${name}' of shape [${shape}]`,
      );
    }
  }

  /**
   * Before `set(values)` in setWeights: throws a TypeError, changing nothing, if an accumulator
   * that would go to a variable the optimizer already has (`mirrors`) does not fit it.
   */
  verify(
    values: readonly { name: string; shape: readonly number[]; data: Float32Array }[],
    mirrors: readonly Variable[],
  ): void {
    const saved = this.#entries;
    this.#entries = values.map((v, position) => ({ ...v, position }));
    try {
      this.#known = new Set(mirrors.map((m) => m.name));
      const taken = new Set<Entry>();
      mirrors.forEach((mirror, index) => {
        const e = this.#match(mirror.name, index, taken);
        if (!e) return;
        taken.add(e);
        this.#checkSize(e, mirror.name, mirror.shape);
      });
    } finally {
      this.#entries = saved;
    }
  }

  /** Writes every pending accumulator whose variable has a mirror now, and forgets it. */
  restore(mirrors: readonly Variable[]): void {
    if (this.#entries.length === 0) return;
    this.#known = new Set(mirrors.map((m) => m.name));
    const taken = new Set<Entry>();
    mirrors.forEach((mirror, index) => {
      const e = this.#match(mirror.name, index, taken);
      if (!e || e.data.length !== this.#slotSize(mirror.shape)) return;
      taken.add(e);
      this.#inner.addSlot(mirror, this.#slot()).write(e.data);
    });
    this.#entries = this.#entries.filter((e) => !taken.has(e));
  }
}
