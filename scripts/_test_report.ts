/**
 * What `deno task test` (scripts/test.ts) says about its stages, without running anything: the
 * counts in the reports the test runners write, the verdict on a stage, and the output of stages
 * that run at the same time, printed in order. Plain TypeScript (tests/package/test_report_test.ts runs it
 * on every runtime); the processes are scripts/_stages.ts's.
 *
 * @module
 */

/** A test runner's counts. */
export interface Counts {
  tests: number;
  passed: number;
  failed: number;
  skipped: number;
}

/**
 * Counts from a JUnit report (Deno's `--junit-path`, Bun's `--reporter=junit`): the root element's
 * tests, its failures and errors, the skipped test cases; null when there is no usable report.
 */
export function junitCounts(xml: string | null): Counts | null {
  const root = xml?.match(/<testsuites\b[^>]*>/)?.[0];
  if (!xml || !root) return null;
  const count = (name: string) => root.match(new RegExp(`\\b${name}="(\\d+)"`))?.[1];
  const tests = Number(count("tests"));
  if (!Number.isInteger(tests)) return null;
  const failed = Number(count("failures") ?? 0) + Number(count("errors") ?? 0);
  const skipped = (xml.match(/<skipped\b/g) ?? []).length;
  return { tests, failed, skipped, passed: tests - failed - skipped };
}

/**
 * Counts from the summary at the end of node:test's TAP report (`# tests 367`, `# pass 358`, ...):
 * cancelled tests count as failed, todo ones as skipped; null without a summary.
 */
export function tapCounts(tap: string | null): Counts | null {
  if (!tap) return null;
  const count = (name: string) => Number(tap.match(new RegExp(`^# ${name} (\\d+)$`, "m"))?.[1]);
  const [tests, passed, failed, cancelled, skipped, todo] = [
    "tests",
    "pass",
    "fail",
    "cancelled",
    "skipped",
    "todo",
  ].map(count);
  if (![tests, passed, failed].every(Number.isInteger)) return null;
  return {
    tests,
    passed,
    failed: failed + (cancelled || 0),
    skipped: (skipped || 0) + (todo || 0),
  };
}

/** "367 passed, 0 failed, 1 skipped" (the last part only when some were). */
export function describeCounts(c: Counts, skippedWord = "skipped"): string {
  return `${c.passed} passed, ${c.failed} failed` +
    (c.skipped ? `, ${c.skipped} ${skippedWord}` : "");
}

/** How a process ended (Deno.CommandStatus's fields). */
export interface ExitStatus {
  success: boolean;
  code: number;
  signal: string | null;
}

/** "exited with 1", "died by SIGABRT". */
export const howItEnded = (status: ExitStatus): string =>
  status.signal ? `died by ${status.signal}` : `exited with ${status.code}`;

/** A stage's verdict: passed or not, and its summary line's text (before the seconds). */
export interface Verdict {
  ok: boolean;
  summary: string;
  /** Printed before the summary line. */
  warning?: string;
}

/** The verdict on a stage that is one process and writes no report: its exit status. */
export function byStatus(status: ExitStatus, summary: string): Verdict {
  return status.success
    ? { ok: true, summary }
    : { ok: false, summary: `FAILED: ${howItEnded(status)}` };
}

/**
 * The verdict on a test run: passed only when the process succeeded and its report counts some
 * tests and no failure; otherwise FAILED, with the counts there are and how the process ended.
 */
export function byCounts(
  counts: Counts | null,
  status: ExitStatus,
  skippedWord = "skipped",
  extra = "",
): Verdict {
  if (status.success && counts && counts.tests > 0 && counts.failed === 0) {
    return { ok: true, summary: describeCounts(counts, skippedWord) + extra };
  }
  const parts = [counts ? describeCounts(counts, skippedWord) : "no test report"];
  if (!status.success) parts.push(howItEnded(status));
  return { ok: false, summary: `FAILED: ${parts.join("; ")}` };
}

/**
 * The verdict on the Deno suite. Deno's WebGPU sometimes crashes the process while tearing it down
 * after the last test (`corrupted size vs. prev_size in fastbins`, SIGABRT; README, "Why Deno
 * 2.8.3"): a death by a signal passes, with a warning, only when the JUnit report exists and
 * records tests, every one passed or ignored, none failed and none errored. Any other failure, a
 * crash before the report is complete, or any other exit status fails.
 */
export function denoVerdict(
  counts: Counts | null,
  status: ExitStatus,
  skippedWord: string,
): Verdict {
  if (!status.success && status.signal) {
    if (counts && counts.tests > 0 && counts.failed === 0) {
      return {
        ok: true,
        summary: describeCounts(counts, skippedWord),
        warning: `warning: deno died by ${status.signal} after the report recorded all ` +
          `${counts.tests} tests as passed: Deno's WebGPU teardown crash (README, "Why Deno ` +
          `2.8.3"). Counting the run as passed.`,
      };
    }
    return {
      ok: false,
      summary: `FAILED: the test process died by ${status.signal} before all tests passed` +
        (counts ? ` (${describeCounts(counts, skippedWord)})` : ""),
    };
  }
  return byCounts(counts, status, skippedWord);
}

/** One stage's output: held until the stages before it (in print order) have ended. */
export class StageOutput {
  #held: string[] = [];
  #live = false;
  #ended = false;
  readonly #owner: OrderedOutput;
  readonly #write: (text: string) => void;
  constructor(owner: OrderedOutput, write: (text: string) => void) {
    this.#owner = owner;
    this.#write = write;
  }

  /** Writes `text` now if this stage is the one being printed, else keeps it for its turn. */
  write(text: string): void {
    if (this.#live) this.#write(text);
    else this.#held.push(text);
  }

  /** Writes one line. */
  line(text: string): void {
    this.write(text + "\n");
  }

  /** Marks the stage done: the next stage in print order gets the output. */
  end(): void {
    this.#ended = true;
    this.#owner.advance();
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Makes this stage the one being printed: what it held goes out first. */
  goLive(): void {
    this.#live = true;
    if (this.#held.length > 0) this.#write(this.#held.join(""));
    this.#held = [];
  }
}

/**
 * Output of stages that run at the same time, printed in a fixed order without interleaving: the
 * first stage not yet ended writes straight through (so the long Deno suite is seen as it runs);
 * the others' output waits, whole, for their turn (as GNU make's --output-sync does).
 */
export class OrderedOutput {
  readonly #stages: StageOutput[] = [];
  #current = 0;
  readonly #write: (text: string) => void;
  constructor(write: (text: string) => void) {
    this.#write = write;
  }

  /** Adds a stage at the end of the print order. */
  stage(): StageOutput {
    const stage = new StageOutput(this, this.#write);
    this.#stages.push(stage);
    if (this.#stages.length - 1 === this.#current) stage.goLive();
    return stage;
  }

  /** Called by a stage that ended: hands the output on, past stages that ended meanwhile. */
  advance(): void {
    while (this.#current < this.#stages.length && this.#stages[this.#current].ended) {
      this.#current++;
      this.#stages[this.#current]?.goLive();
    }
  }
}
