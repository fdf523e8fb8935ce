// Which optimizer classes keep one accumulator per row (row-wise Adagrad) rather than one per
// element. A registry rather than a constructor argument, so the public constructors keep Keras's
// signature; row_wise_adagrad.ts registers its class when loaded.

// deno-lint-ignore ban-types
export const rowWiseClasses: WeakSet<Function> = new WeakSet();

/** Rows and elements per row of a variable of `shape`: the first dimension is the row. */
export function rowsOf(shape: readonly number[]): { rows: number; width: number } {
  const size = shape.reduce((a, b) => a * b, 1);
  const rows = shape.length === 0 ? 1 : shape[0];
  return { rows, width: rows === 0 ? 0 : size / rows };
}
