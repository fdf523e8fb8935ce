// Warnings that a test causes on purpose, kept out of the test log. Some tests give variables no
// gradient (skipped variables, the fuzz tests' missing ones), and the optimizers then warn as
// Keras does, once per optimizer and set of names; one TF.js test switches to TF.js's CPU
// backend, which greets Node (and Deno, which it takes for Node) with a banner. Hundreds of such
// lines buried the results of `deno task test`. A test that expects one of them runs the part
// that causes it inside `quietly`, which drops exactly those messages: any other warning (another
// of the package's own, an unexpected one from TF.js or from the runtime) still reaches the log.

/**
 * The optimizers' warning for variables passed without a gradient (src/_step/plan.ts,
 * warnMissing; Keras's wording): the whole message, one argument, nothing before or after it.
 */
export const MISSING_GRADIENTS =
  /^Gradients do not exist for variables \['[^']*'(, '[^']*')*\] when minimizing the loss\.$/;

/**
 * TF.js's CPU backend's banner on its first write under Node (tfjs-backend-cpu 4.22's
 * backend_cpu.js, through tfjs-core's `warn`), as one argument, to the letter.
 */
export const TFJS_NODE_BANNER = new RegExp(
  "^" +
    [
      "\n============================\n",
      "Hi, looks like you are running TensorFlow.js in Node.js. To speed things up dramatically, ",
      "install our node backend, visit https://github.com/tensorflow/tfjs-node for more details. ",
      "\n============================",
    ].join("").replace(/[.*+?^${}()|[\]\\/]/g, "\\$&") +
    "$",
);

/**
 * Runs `fn` with `console.warn` filtered: a call with exactly one argument, a string that one of
 * `expected` matches, is dropped (and pushed to `dropped`, when given); every other call goes to
 * the `console.warn` that was there before, unchanged. That one is put back when `fn` settles,
 * also when it throws, so calls nest. Tests run one at a time on every runtime here (Deno in one
 * isolate, node:test and bun test per file, the browser page in order), so the filter sees only
 * the test's own warnings.
 */
export async function quietly<T>(
  expected: readonly RegExp[],
  fn: () => T | Promise<T>,
  dropped?: string[],
): Promise<T> {
  const before = console.warn;
  console.warn = (...args: unknown[]) => {
    const [message] = args;
    if (args.length === 1 && typeof message === "string" && expected.some((e) => e.test(message))) {
      dropped?.push(message);
      return;
    }
    before.apply(console, args);
  };
  try {
    return await fn();
  } finally {
    console.warn = before;
  }
}

/** `quietly([MISSING_GRADIENTS], fn)`: for a test that gives some variables no gradient. */
export function skippingVariables<T>(fn: () => T | Promise<T>): Promise<T> {
  return quietly([MISSING_GRADIENTS], fn);
}
