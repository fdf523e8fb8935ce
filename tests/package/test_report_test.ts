// What `deno task test` concludes from its stages (scripts/_test_report.ts): the counts in the
// reports of Deno, Bun and Node (fixtures cut from real reports of a file with one passing, one
// failing and one skipped test), the verdicts, Deno's teardown crash counted as a pass only after a
// complete, clean report, and stages running at once printed in order.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  byCounts,
  denoVerdict,
  type ExitStatus,
  junitCounts,
  OrderedOutput,
  tapCounts,
} from "../../scripts/_test_report.ts";

const DENO_JUNIT = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="deno test" tests="3" failures="1" errors="0" time="0.038">
    <testsuite name="./f_test.ts" tests="3" disabled="1" errors="0" failures="1">
        <testcase name="passes" classname="./f_test.ts" time="0.014" line="3" col="1">
        </testcase>
        <testcase name="fails here" classname="./f_test.ts" time="0.001" line="4" col="1">
            <failure message="Uncaught AssertionError">AssertionError</failure>
        </testcase>
        <testcase name="skipped" classname="./f_test.ts" time="0.000" line="5" col="1">
            <skipped/>
        </testcase>
    </testsuite>
</testsuites>
`;
const BUN_JUNIT = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="bun test" tests="3" assertions="0" failures="1" skipped="1" time="0.025">
  <testsuite name="f_test.ts" file="f_test.ts" tests="3" assertions="0" failures="1" skipped="1">
    <testcase name="passes" classname="" time="0.001749" file="f_test.ts" line="3" assertions="0" />
    <testcase name="fails here" classname="" time="0.001125" file="f_test.ts" line="4">
      <failure type="AssertionError" message="1 !== 2">AssertionError: 1 !== 2</failure>
    </testcase>
    <testcase name="skipped" classname="" time="0" file="f_test.ts" line="5" assertions="0">
      <skipped />
    </testcase>
  </testsuite>
</testsuites>
`;
const NODE_TAP = `TAP version 13
not ok 2 - fails here
1..3
# tests 3
# suites 0
# pass 1
# fail 1
# cancelled 0
# skipped 1
# todo 0
# duration_ms 120.32305
`;

const ok: ExitStatus = { success: true, code: 0, signal: null };
const exit1: ExitStatus = { success: false, code: 1, signal: null };
const abort: ExitStatus = { success: false, code: 134, signal: "SIGABRT" };
const clean = { tests: 371, passed: 370, failed: 0, skipped: 1 };

test("the reports' counts: Deno's and Bun's JUnit, Node's TAP; none from a missing or cut report", () => {
  const want = { tests: 3, passed: 1, failed: 1, skipped: 1 };
  assert.deepEqual(junitCounts(DENO_JUNIT), want);
  assert.deepEqual(junitCounts(BUN_JUNIT), want);
  assert.deepEqual(tapCounts(NODE_TAP), want);
  // An error (a test that threw outside its assertions, in Deno's words) is a failure too.
  assert.deepEqual(
    junitCounts(DENO_JUNIT.replace('failures="1" errors="0" time', 'failures="0" errors="1" time')),
    want,
  );
  assert.deepEqual(tapCounts(NODE_TAP.replace("# cancelled 0", "# cancelled 2")), {
    ...want,
    failed: 3,
  });
  for (const report of [null, "", DENO_JUNIT.slice(0, 60), "<testsuites>"]) {
    assert.equal(junitCounts(report), null, String(report));
  }
  for (const report of [null, "", NODE_TAP.slice(0, NODE_TAP.indexOf("# tests"))]) {
    assert.equal(tapCounts(report), null, String(report));
  }
});

test("a stage passes only with a clean report and a clean exit", () => {
  assert.deepEqual(byCounts(clean, ok, "ignored"), {
    ok: true,
    summary: "370 passed, 0 failed, 1 ignored",
  });
  const failing = { tests: 3, passed: 1, failed: 1, skipped: 1 };
  assert.deepEqual(byCounts(failing, exit1), {
    ok: false,
    summary: "FAILED: 1 passed, 1 failed, 1 skipped; exited with 1",
  });
  assert.equal(byCounts(failing, ok).ok, false); // a failure in the report, whatever the exit
  assert.deepEqual(byCounts(clean, exit1, "ignored"), {
    ok: false,
    summary: "FAILED: 370 passed, 0 failed, 1 ignored; exited with 1",
  });
  assert.deepEqual(byCounts(null, ok), { ok: false, summary: "FAILED: no test report" });
  assert.equal(byCounts({ tests: 0, passed: 0, failed: 0, skipped: 0 }, ok).ok, false);
});

test("Deno's teardown crash passes, with a warning, only after a complete and clean report", () => {
  const crashed = denoVerdict(clean, abort, "ignored");
  assert.equal(crashed.ok, true);
  assert.equal(crashed.summary, "370 passed, 0 failed, 1 ignored");
  assert.match(crashed.warning!, /deno died by SIGABRT after the report recorded all 371 tests/);
  // A crash with a failure recorded, before the report, or before any test: failed.
  const failing = { tests: 371, passed: 369, failed: 1, skipped: 1 };
  for (
    const [counts, summary] of [[failing, / \(369 passed, 1 failed, 1 ignored\)$/], [
      null,
      /before all tests passed$/,
    ], [{ tests: 0, passed: 0, failed: 0, skipped: 0 }, /before all tests passed/]] as const
  ) {
    const verdict = denoVerdict(counts, abort, "ignored");
    assert.equal(verdict.ok, false);
    assert.match(verdict.summary, /^FAILED: the test process died by SIGABRT/);
    assert.match(verdict.summary, summary);
    assert.equal(verdict.warning, undefined);
  }
  // Without a signal the exit status counts as for any stage.
  assert.equal(denoVerdict(clean, exit1, "ignored").ok, false);
  assert.equal(denoVerdict(clean, ok, "ignored").ok, true);
  assert.equal(denoVerdict(null, ok, "ignored").ok, false);
});

test("stages running at once print in order: the first unfinished one live, the others held", () => {
  let printed = "";
  const output = new OrderedOutput((text) => printed += text);
  const [a, b, c] = [output.stage(), output.stage(), output.stage()];
  a.line("a1");
  c.line("c1");
  b.line("b1");
  assert.equal(printed, "a1\n"); // b and c wait for a
  c.line("c2");
  c.end(); // c is done before b: still held
  assert.equal(printed, "a1\n");
  a.line("a2");
  a.end(); // b's lines so far, then b live
  assert.equal(printed, "a1\na2\nb1\n");
  b.line("b2");
  assert.equal(printed, "a1\na2\nb1\nb2\n");
  b.end(); // c ended already: all of it at once
  assert.equal(printed, "a1\na2\nb1\nb2\nc1\nc2\n");
  const d = output.stage(); // a stage added after the others ended is live at once
  d.line("d1");
  assert.equal(printed, "a1\na2\nb1\nb2\nc1\nc2\nd1\n");
});
