/**
 * `deno task test`: the whole suite on every runtime, in stages.
 *
 * - build: the npm package (scripts/build_npm.ts), which the Node runs, the browser checks and the
 *   cross-runtime test need;
 * - deno: `tests/all.ts` in one isolate (it includes tests/package/runtimes_test.ts, which runs
 *   the same steps under Node and Bun and compares the numbers);
 * - node: the compiled tests against the build, the tarball's contents, consumer projects on Node
 *   and Bun (scripts/npm_checks.ts);
 * - bun: `bun test` on the TypeScript test files (every `*_test.ts` under tests/, as Node);
 * - browser: the reference tests inside a page in headless Chromium, the training page, README's
 *   import-map recipe and a bundler build (scripts/browser_tests.ts);
 * - docs: the JSDoc, README.md and docs/*.md examples, type-checked (tests/package/docs_test.ts runs
 *   README.md's Quick start and the guide's examples; the npm checks run the Node ones).
 *
 * The stages run in two lanes at once, because each keeps about one core busy and the machines
 * this runs on have two: build, then deno and browser; meanwhile bun (which needs no build), then
 * node and docs (the longer lane has the Deno suite, which starts as soon as the build is done).
 * Their output is printed stage by stage, never interleaved: the first unfinished stage in the
 * order above prints as it runs, the others' output waits for its turn. Each stage ends with one
 * line (`deno: 374 passed, 0 failed, 1 ignored (174 s)`), and the run with one line that says
 * whether everything passed. After a stage fails, stages that have not started are not run (and
 * say so); those running finish.
 *
 * Deno's WebGPU sometimes crashes the process while tearing it down after the last test
 * (`corrupted size vs. prev_size in fastbins`, SIGABRT; see README, "Why Deno 2.8.3"). The suite
 * therefore writes a JUnit report, and a crash by signal counts as a pass only when that report
 * exists and records every test as passed, none failed and none errored; it prints a warning.
 * Any failed test, a crash before the report is written, or any other exit status fails the run
 * (scripts/_test_report.ts, denoVerdict).
 *
 *     deno task test [extra deno test flags, e.g. --filter keras]   (then: deno and docs only)
 *
 * @module
 */
import { readdir, rm } from "node:fs/promises";
import { testFiles } from "./_test_files.ts";
import { DAWN_LAVAPIPE_NOTES, type LineSink, seconds, spawn, writeStdout } from "./_stages.ts";
import {
  byCounts,
  byStatus,
  type Counts,
  denoVerdict,
  describeCounts,
  howItEnded,
  junitCounts,
  OrderedOutput,
  type StageOutput,
  tapCounts,
  type Verdict,
} from "./_test_report.ts";

const t0 = performance.now();
const only = Deno.args.length > 0; // extra flags (e.g. --filter): the Deno suite alone
const deno = Deno.execPath();
const BUN = "node_modules/bun/bin/bun.exe";
// ANSI colours make a log written to a file hard to read (and a third larger): only on a terminal.
const env: Record<string, string> = Deno.stdout.isTerminal() ? {} : { NO_COLOR: "1" };

/** Where the stages' reports go; removed at the end. */
const reports = await Deno.makeTempDir({ prefix: "webgpu-adagrad-test-" });
/** A report's text, or null when the runner wrote none. */
const readReport = (name: string) => Deno.readTextFile(`${reports}/${name}`).catch(() => null);

const output = new OrderedOutput(writeStdout);
const names = only ? ["deno", "docs"] : ["build", "deno", "node", "bun", "browser", "docs"];
const out = Object.fromEntries(names.map((n) => [n, output.stage()]));
const verdicts = new Map<string, Verdict & { seconds: string }>();
let failed = false;

/**
 * Runs one stage unless an earlier one failed, and prints its summary line. A throw fails the
 * stage with the error's message.
 */
async function stage(name: string, fn: (out: StageOutput) => Promise<Verdict>): Promise<void> {
  const o = out[name];
  if (failed) {
    o.line(`${name}: not run, as an earlier stage failed`);
    o.end();
    return;
  }
  const t0 = performance.now();
  let verdict: Verdict;
  try {
    verdict = await fn(o);
  } catch (e) {
    verdict = { ok: false, summary: `FAILED: ${(e as Error).message ?? e}` };
  }
  if (!verdict.ok) failed = true;
  verdicts.set(name, { ...verdict, seconds: seconds(t0) });
  if (verdict.warning) o.line(`\n${verdict.warning}`);
  o.line(`${name}: ${verdict.summary} (${seconds(t0)})`);
  o.end();
}

function build(o: StageOutput) {
  return spawn(o, deno, [
    "run",
    "--allow-read",
    "--allow-write",
    "--allow-run",
    "--allow-env",
    "scripts/build_npm.ts",
    "--no-checks",
    "--if-stale",
  ], { env }).then((status) => byStatus(status, "npm/ ready"));
}

async function denoSuite(o: StageOutput): Promise<Verdict> {
  const status = await spawn(o, deno, [
    "test",
    "--allow-read",
    "--allow-write",
    "--allow-run",
    "--allow-env",
    "--v8-flags=--expose-gc",
    `--junit-path=${reports}/deno.xml`,
    ...Deno.args,
    "tests/all.ts",
  ], { env });
  // The report lists the tests a --filter left out as skipped, with the ignored ones.
  return denoVerdict(
    junitCounts(await readReport("deno.xml")),
    status,
    only ? "ignored or filtered out" : "ignored",
  );
}

async function node(o: StageOutput): Promise<Verdict> {
  const status = await spawn(o, deno, [
    "run",
    "--allow-read",
    "--allow-write",
    "--allow-run",
    "--allow-env",
    "scripts/npm_checks.ts",
    `--tap=${reports}/node.tap`,
  ], { env, drop: DAWN_LAVAPIPE_NOTES });
  // The tests' counts; a failure after them is in one of the package checks, which say which.
  return byCounts(
    tapCounts(await readReport("node.tap")),
    status,
    "skipped",
    "; the npm package checked",
  );
}

async function bun(o: StageOutput): Promise<Verdict> {
  // Every *_test.ts under tests/, in any folder (the list Node runs too). Paths start with "./",
  // which bun test takes as paths rather than as filters on its own search.
  const tests = await testFiles();
  const status = await spawn(o, BUN, [
    "test",
    "--timeout",
    "300000",
    "--only-failures", // each passing test is in the report; the log has failures and counts
    "--reporter=junit",
    `--reporter-outfile=${reports}/bun.xml`,
    ...tests.map((f) => `./${f}`),
  ], { env, drop: DAWN_LAVAPIPE_NOTES });
  return byCounts(junitCounts(await readReport("bun.xml")), status);
}

async function browser(o: StageOutput): Promise<Verdict> {
  // A process of its own: playwright-core reads /proc, which only --allow-all permits.
  const status = await spawn(o, deno, [
    "run",
    "--allow-all",
    "scripts/browser_tests.ts",
    `--counts=${reports}/browser.json`,
  ], { env });
  const json = await readReport("browser.json");
  const c = json ? JSON.parse(json) as { checks: Counts; inPage: Counts } : null;
  if (!c) return { ok: false, summary: `FAILED: no counts; ${howItEnded(status)}` };
  const ok = status.success && c.checks.failed === 0 && c.inPage.failed === 0;
  return {
    ok,
    summary: `${ok ? "" : "FAILED: "}checks ${describeCounts(c.checks)}; in the page, tests ` +
      describeCounts(c.inPage),
  };
}

/**
 * Examples in JSDoc, README.md and docs/: type-checked, as each would otherwise run in an isolate
 * of its own (the named blocks also run, in tests/package/docs_test.ts and the npm checks).
 */
async function docs(o: StageOutput): Promise<Verdict> {
  const markdown = (await readdir("docs")).filter((f) => f.endsWith(".md")).sort().map((f) =>
    `docs/${f}`
  );
  let examples = 0;
  for (
    const args of [
      ["check", "--doc", "mod.ts", "tfjs.ts", "node.ts", "src/"],
      ["check", "--doc-only", "README.md", ...markdown],
    ]
  ) {
    // Deno names each module and example it checks ("Check README.md$26-54.ts"): counted here,
    // not printed (a hundred lines); errors are printed.
    const counted: LineSink = {
      line(text: string) {
        if (/^Check \S+\$\d+-\d+\.\w+$/.test(text)) examples++;
        else if (!/^Check \S+$/.test(text)) o.line(text);
      },
    };
    const status = await spawn(counted, deno, args, { env: { NO_COLOR: "1" } });
    if (!status.success) return byStatus(status, "");
  }
  return { ok: true, summary: `${examples} examples type-check` };
}

try {
  if (only) {
    await stage("deno", denoSuite);
    await stage("docs", docs);
  } else {
    const built = stage("build", build);
    await Promise.all([
      (async () => {
        await built;
        await stage("deno", denoSuite);
        await stage("browser", browser);
      })(),
      (async () => {
        await stage("bun", bun);
        await built;
        await stage("node", node);
        await stage("docs", docs);
      })(),
    ]);
  }
} finally {
  await rm(reports, { recursive: true, force: true });
}

const total = seconds(t0);
const line = names.map((n) => {
  const v = verdicts.get(n);
  return v ? `${n} ${v.ok ? "passed" : "FAILED"} (${v.seconds})` : `${n} not run`;
}).join(", ");
console.log(
  failed ? `test: FAILED in ${total}: ${line}` : `test: all passed in ${total}: ${line}`,
);
if (failed) Deno.exit(1);
