/// <reference lib="dom" />
// The package's reference tests in a browser page (tests.html, built by scripts/_web_build.ts):
// the same test files as on Deno, Node and Bun, with node:test and node:assert/strict replaced by
// the stand-ins beside this file. Each result goes to the page and, when scripts/browser_tests.ts
// drives the page, to the runner through the functions it exposes. No adapter is a failure. Every
// test file under tests/ is imported here or named in not_in_page.ts with the reason
// (tests/package/test_lists_test.ts checks it).
import { registered } from "./test_stand_in.ts";
import "../rules/keras_vectors_test.ts";
import "../step/dense_reference_test.ts";
import "../step/sparse_test.ts";
import "../step/clipping_test.ts";
import "../rules/row_wise_test.ts";
import "../rules/keras3_torch_refusals_test.ts";
import "../rules/rule_state_test.ts";
import "../rules/keras3_torch_vectors_test.ts";
import "../rules/keras3_torch_reference_test.ts";
import "../checkpoint/checkpoint_test.ts";
import "../checkpoint/checkpoint_file_test.ts";
import "../optimizer/bad_input_test.ts";
import "../optimizer/learning_rate_test.ts";
import "../optimizer/optimizer_surface_test.ts";
import "../memory/variable_store_test.ts";
import "../memory/variable_rows_test.ts";
import "../rules/registry_test.ts";
import "../kernels/region_binding_test.ts";
import "../device/request_device_test.ts";
import "../step/step_cost_test.ts";
import "../optimizer/schedules_test.ts";
import "../memory/layout_test.ts";
import "../step/loss_scale_test.ts";
import "../step/float16_test.ts";
import "../tfjs/tfjs_test.ts";
import "../tfjs/tfjs_options_test.ts";
import "../device/device_loss_test.ts";
import "../step/zero_grads_test.ts";
import "../step/error_scope_test.ts";
import "../package/quiet_warnings_test.ts";

/** One test's outcome, as reported to the runner. */
export interface TestResult {
  name: string;
  outcome: "passed" | "failed" | "skipped";
  ms: number;
  error?: string;
}

/** What the runner may expose on `window` (page.exposeFunction). */
interface Runner {
  suiteStarted?(info: { adapter: string; fallback: boolean; tests: number }): Promise<void>;
  testStarted?(name: string): Promise<void>;
  testDone?(result: TestResult): Promise<void>;
  suiteDone?(summary: { passed: number; failed: number; skipped: number }): Promise<void>;
}
const runner = globalThis as Runner;
const table = document.getElementById("results")!;
const status = document.getElementById("status")!;

function show(r: TestResult): void {
  const row = table.appendChild(document.createElement("tr"));
  row.className = r.outcome;
  for (const text of [r.outcome, r.name, `${r.ms.toFixed(0)} ms`, r.error ?? ""]) {
    row.appendChild(document.createElement("td")).textContent = text;
  }
}

// A rejection nobody awaited belongs to the test that is running.
let stray: unknown[] = [];
addEventListener("unhandledrejection", (e) => stray.push(e.reason));

async function run(): Promise<void> {
  const filter = new URLSearchParams(location.search).get("filter") ?? "";
  const tests = registered.filter((t) => t.name.includes(filter));
  const adapter = await navigator.gpu?.requestAdapter();
  const info = adapter?.info;
  const name = info
    ? info.description || [info.vendor, info.architecture, info.device].filter(Boolean).join(" ")
    : "none";
  const fallback = Boolean(
    (info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter,
  );
  document.getElementById("adapter")!.textContent = `WebGPU adapter: ${name}`;
  await runner.suiteStarted?.({ adapter: name, fallback, tests: tests.length });
  const counts = { passed: 0, failed: 0, skipped: 0 };
  const report = async (r: TestResult) => {
    counts[r.outcome]++;
    show(r);
    await runner.testDone?.(r);
  };
  if (!adapter) {
    await report({
      name: "a WebGPU adapter exists",
      outcome: "failed",
      ms: 0,
      error: navigator.gpu ? "requestAdapter() gave null" : "navigator.gpu is missing",
    });
  } else {
    for (const t of tests) {
      status.textContent = `running: ${t.name}`;
      if (t.skip) {
        await report({ name: t.name, outcome: "skipped", ms: 0, error: String(t.skip) });
        continue;
      }
      await runner.testStarted?.(t.name);
      stray = [];
      const t0 = performance.now();
      let error: unknown;
      try {
        await t.fn();
      } catch (e) {
        error = e;
      }
      await new Promise((resolve) => setTimeout(resolve)); // let stray rejections arrive
      error ??= stray[0];
      const ms = performance.now() - t0;
      await report({
        name: t.name,
        outcome: error === undefined ? "passed" : "failed",
        ms,
        ...(error === undefined ? {} : {
          error: error instanceof Error ? `${error.stack ?? error}` : String(error),
        }),
      });
    }
  }
  status.textContent = `done: ${counts.passed} passed, ${counts.failed} failed, ` +
    `${counts.skipped} skipped`;
  await runner.suiteDone?.(counts);
}

run().catch((e) => {
  status.textContent = `the test page failed: ${e}`;
  runner.suiteDone?.({ passed: 0, failed: 1, skipped: 0 });
});
