// The browser stand-in for node:assert/strict (tests/browser/assert_stand_in.ts) must be exactly as
// strict as Node's on what the tests assert: each case passes or fails under both alike.
import { test } from "node:test";
import nodeAssert from "node:assert/strict";
import browserAssert from "./assert_stand_in.ts";

type Assert = typeof nodeAssert;
const error = () => {
  throw new TypeError("bad shape [3]");
};
const rejecting = () => Promise.reject(new RangeError("out of range: 7"));
const nan = new Float32Array([NaN, 1]);

/** [what, the assertion]; each must give the same verdict with both modules. */
const CASES: [string, (a: Assert) => unknown][] = [
  ["ok true", (a) => a.ok(1)],
  ["ok false", (a) => a.ok(0)],
  ["ok callable", (a) => a("")],
  ["equal same", (a) => a.equal(0.1 + 0.2, 0.1 + 0.2)],
  ["equal loose", (a) => a.equal(1, "1" as unknown as number)],
  ["equal NaN", (a) => a.equal(NaN, NaN)],
  ["equal signed zero", (a) => a.equal(0, -0)],
  ["notEqual", (a) => a.notEqual(1, 2)],
  ["notEqual same", (a) => a.notEqual("x", "x")],
  ["deepEqual arrays", (a) => a.deepEqual([1, [2, 3]], [1, [2, 3]])],
  ["deepEqual arrays differ", (a) => a.deepEqual([1, [2, 3]], [1, [2, 4]])],
  ["deepEqual lengths", (a) => a.deepEqual([1, 2], [1, 2, undefined])],
  ["deepEqual loose types", (a) => a.deepEqual([1], ["1"])],
  ["deepEqual objects", (a) => a.deepEqual({ a: 1, b: { c: [1] } }, { b: { c: [1] }, a: 1 })],
  ["deepEqual missing key", (a) => a.deepEqual({ a: 1 }, { a: 1, b: undefined })],
  ["deepEqual prototypes", (a) => a.deepEqual(Object.create(null), {})],
  [
    "deepEqual typed arrays",
    (a) => a.deepEqual(new Float32Array([1, 2]), new Float32Array([1, 2])),
  ],
  [
    "deepEqual typed differ",
    (a) => a.deepEqual(new Float32Array([1, 2]), new Float32Array([1, 3])),
  ],
  ["deepEqual typed kinds", (a) => a.deepEqual(new Float32Array([1]), new Float64Array([1]))],
  ["deepEqual typed vs array", (a) => a.deepEqual(new Uint8Array([1]), [1])],
  ["deepEqual NaN arrays", (a) => a.deepEqual(nan, new Float32Array([NaN, 1]))],
  ["deepEqual signed zeros", (a) => a.deepEqual([0], [-0])],
  ["deepEqual maps", (a) => a.deepEqual(new Map([["a", [1]]]), new Map([["a", [1]]]))],
  ["deepEqual maps differ", (a) => a.deepEqual(new Map([["a", [1]]]), new Map([["a", [2]]]))],
  ["deepEqual sets", (a) => a.deepEqual(new Set([1, 2]), new Set([2, 1]))],
  ["deepEqual bigint", (a) => a.deepEqual([1n], [1n])],
  ["deepEqual bigint vs number", (a) => a.deepEqual([1n], [1])],
  ["match", (a) => a.match("dense/kernel", /kernel$/)],
  ["match fails", (a) => a.match("dense/bias", /kernel$/)],
  ["fail", (a) => a.fail("no")],
  ["throws class", (a) => a.throws(error, TypeError)],
  ["throws other class", (a) => a.throws(error, RangeError)],
  ["throws regexp", (a) => a.throws(error, /^TypeError: bad shape/)],
  ["throws regexp mismatch", (a) => a.throws(error, /^RangeError/)],
  ["throws object", (a) => a.throws(error, { name: "TypeError", message: /shape \[3\]/ })],
  ["throws object mismatch", (a) => a.throws(error, { name: "TypeError", message: /\[4\]/ })],
  ["throws validator", (a) => a.throws(error, (e: Error) => e.message.includes("shape"))],
  ["throws validator false", (a) => a.throws(error, (e: Error) => e.message.includes("x"))],
  ["throws nothing", (a) => a.throws(() => {}, TypeError)],
  ["throws any", (a) => a.throws(error)],
  ["rejects class", (a) => a.rejects(rejecting(), RangeError)],
  ["rejects function", (a) => a.rejects(rejecting, /out of range: 7/)],
  ["rejects other class", (a) => a.rejects(rejecting(), TypeError)],
  ["rejects resolved", (a) => a.rejects(Promise.resolve(1), RangeError)],
  ["rejects sync throw", (a) => a.rejects(error as () => Promise<never>, TypeError)],
];

async function verdict(assert: Assert, fn: (a: Assert) => unknown): Promise<string> {
  try {
    await fn(assert);
    return "passes";
  } catch (e) {
    return `fails (${(e as Error).name})`;
  }
}

test("the browser's node:assert/strict gives Node's verdict on every case", async () => {
  const differ: string[] = [];
  for (const [what, fn] of CASES) {
    const node = await verdict(nodeAssert, fn);
    const browser = await verdict(browserAssert as unknown as Assert, fn);
    if (node !== browser) differ.push(`${what}: Node ${node}, browser ${browser}`);
  }
  nodeAssert.deepEqual(differ, []);
});

test("the browser's node:assert/strict fails with an AssertionError", () => {
  nodeAssert.throws(() => browserAssert.equal(1, 2), { name: "AssertionError" });
  nodeAssert.throws(() => browserAssert.deepEqual([1], [2], "custom"), { message: "custom" });
});
