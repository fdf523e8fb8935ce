// tests/_console.ts's filter, which keeps the warnings some tests cause on purpose out of the log:
// it drops exactly those messages and lets everything else through, and it always puts
// console.warn back. (A check of `deno task test`'s whole log would take minutes; this takes none.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { MISSING_GRADIENTS, quietly, skippingVariables, TFJS_NODE_BANNER } from "../_console.ts";

/** Runs `fn` with console.warn recording its calls instead of printing them. */
async function recording(fn: () => Promise<void>): Promise<unknown[][]> {
  const calls: unknown[][] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => calls.push(args);
  try {
    await fn();
  } finally {
    console.warn = warn;
  }
  return calls;
}

// The messages as the package and TF.js print them (src/_step/plan.ts's warnMissing; TF.js's CPU
// backend on Node), and near misses of each that must reach the log.
const MISSING = "Gradients do not exist for variables ['dense/bias'] when minimizing the loss.";
const MISSING_MANY =
  "Gradients do not exist for variables ['v0', 'v5', 'v10'] when minimizing the loss.";
const BANNER = "\n============================\nHi, looks like you are running TensorFlow.js in " +
  "Node.js. To speed things up dramatically, install our node backend, visit " +
  "https://github.com/tensorflow/tfjs-node for more details. \n============================";
const OTHERS: unknown[][] = [
  ["The `lr` argument is deprecated, use `learningRate` instead."], // the package's own
  [`${MISSING} (and more)`],
  [`warning: ${MISSING}`],
  [MISSING, "a second argument"],
  ["Gradients do not exist for variables [] when minimizing the loss."],
  ["Gradients do not exist for variables ['a'] when minimizing the loss"],
  [BANNER.trim()],
  [BANNER + "\n"],
  [new Error(MISSING)],
  [],
];

test("quietly drops exactly the expected messages and passes every other warning through", async () => {
  const dropped: string[] = [];
  const calls = await recording(async () => {
    const result = await quietly([MISSING_GRADIENTS, TFJS_NODE_BANNER], async () => {
      console.warn(MISSING);
      for (const args of OTHERS) console.warn(...args);
      console.warn(BANNER);
      await Promise.resolve(); // still filtered after an await
      console.warn(MISSING_MANY);
      return 42;
    }, dropped);
    assert.equal(result, 42);
  });
  assert.deepEqual(dropped, [MISSING, BANNER, MISSING_MANY]);
  assert.deepEqual(calls, OTHERS); // every other call, its arguments unchanged, in order
});

test("quietly drops only the patterns it is given, and leaves console.log and .error alone", async () => {
  const log = console.log;
  const error = console.error;
  const calls = await recording(() =>
    skippingVariables(() => {
      assert.equal(console.log, log);
      assert.equal(console.error, error);
      console.warn(MISSING);
      console.warn(BANNER); // not a missing-gradient warning: through
    })
  );
  assert.deepEqual(calls, [[BANNER]]);
});

test("quietly puts console.warn back when the block throws, and nests", async () => {
  let inner: typeof console.warn | undefined;
  const calls = await recording(async () => {
    const outer = console.warn;
    await assert.rejects(
      quietly([TFJS_NODE_BANNER], async () => {
        await skippingVariables(() => {
          inner = console.warn;
          console.warn(MISSING);
          console.warn(BANNER); // passed to the outer filter, which drops it
          console.warn("through both");
        });
        assert.notEqual(console.warn, inner, "the inner filter was taken off");
        console.warn(MISSING); // the outer filter does not drop it
        throw new Error("the block failed");
      }),
      /the block failed/,
    );
    assert.equal(console.warn, outer);
  });
  assert.deepEqual(calls, [["through both"], [MISSING]]);
});
