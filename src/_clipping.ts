// The step-wide buffers of norm clipping: per-tile partial sums (pass 1), the table of each
// variable's partials (for pass 2), and the norms the update reads. They grow only when a step
// has more variables or tiles than any step before, never on an ordinary step.
import { COPY_DST, STORAGE } from "./_usage.ts";

/** u32 words of the variable table header (count and padding). */
export const VARIABLE_HEADER_WORDS = 4;
/** f32 words of the norms header (global scale and padding). */
export const NORMS_HEADER_WORDS = 4;

export class ClipBuffers {
  readonly device: GPUDevice;
  partials!: GPUBuffer;
  variableTable!: GPUBuffer;
  norms!: GPUBuffer;
  #tiles = 0;
  #variables = 0;
  #words = new Uint32Array(0);
  #lastWords: Uint32Array | null = null;

  constructor(device: GPUDevice) {
    this.device = device;
    this.ensure(1, 1);
  }

  /** Makes room for `tiles` partials and `variables` variables; true if the buffers changed. */
  ensure(tiles: number, variables: number): boolean {
    if (tiles <= this.#tiles && variables <= this.#variables) return false;
    const t = Math.max(tiles, 2 * this.#tiles);
    const v = Math.max(variables, 2 * this.#variables);
    this.destroy();
    const buffer = (label: string, size: number) =>
      this.device.createBuffer({
        label: `webgpu-adagrad ${label}`,
        size,
        usage: STORAGE | COPY_DST,
      });
    this.partials = buffer("partials", 4 * t);
    this.variableTable = buffer("variable table", 4 * (VARIABLE_HEADER_WORDS + 2 * v));
    this.norms = buffer("norms", 4 * (NORMS_HEADER_WORDS + v));
    this.#tiles = t;
    this.#variables = v;
    this.#words = new Uint32Array(VARIABLE_HEADER_WORDS + 2 * v);
    this.#lastWords = null;
    return true;
  }

  /**
   * Writes the variable table: for variable k of the step, its first partial and its tile count.
   * Only when it differs from the previous step's.
   */
  writeVariableTable(firsts: readonly number[], counts: readonly number[]): void {
    const n = firsts.length;
    const words = this.#words;
    const used = VARIABLE_HEADER_WORDS + 2 * n;
    const last = this.#lastWords;
    let same = last !== null && last.length === used && last[0] === n;
    words[0] = n;
    for (let k = 0; k < n; k++) {
      const w = VARIABLE_HEADER_WORDS + 2 * k;
      words[w] = firsts[k];
      words[w + 1] = counts[k];
      if (same && (last![w] !== firsts[k] || last![w + 1] !== counts[k])) same = false;
    }
    if (same) return;
    this.device.queue.writeBuffer(this.variableTable, 0, words, 0, used);
    this.#lastWords = words.slice(0, used);
  }

  destroy(): void {
    this.partials?.destroy();
    this.variableTable?.destroy();
    this.norms?.destroy();
  }
}
