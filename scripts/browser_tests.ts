/// <reference lib="dom" />
/**
 * The browser tests, in headless Chromium (Debian's, WebGPU on SwiftShader where there is no GPU),
 * driven by playwright-core; part of `deno task test`, after the npm build. Each check prints a
 * line; any failure fails the run, naming the check (and the test, for the in-page suite).
 *
 * 1. the package's reference tests inside a page (tests/browser/in_page.ts), each result reported;
 *    the TF.js tests among them run TfjsAdagrad on TF.js's WebGPU backend in the page;
 * 2. the training page unattended on 600 messages: the held-out accuracy beats the majority class
 *    and the held-out loss falls; a screenshot goes to .web/trained_page.png;
 * 3. its checkpoints: download; another model's checkpoint refused with the restore error and the
 *    model unchanged (the next download is byte-identical); a fresh page loads the download and
 *    saves the same bytes, then continues; the checkpoint names its optimizer as Deno does;
 * 4. a browser without WebGPU gets a message; bad settings in the URL get one too;
 * 5. the RowWiseAdagrad / epsilon-inside / clipnorm settings train; ProximalAdagrad with an L1
 *    leaves about half the trained rows exactly zero (the done line's `zeros`);
 * 6. README's import-map recipe, on a page that imports the npm build served locally;
 * 7. a bundler build (esbuild) of `import { Adagrad } from "webgpu-adagrad"` from the npm build:
 *    it builds for the browser, holds no `node:` import, and runs a step in the page.
 *
 *     deno run -A scripts/browser_tests.ts      (deno task test runs it; needs npm/ built)
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { readFile } from "node:fs/promises";
import type { Browser, Page } from "playwright-core";
import { decodeSafetensors } from "../mod.ts";
import { launchChromium } from "./_browser.ts";
import { buildBundleCheck, buildRecipePage, RECIPE_EXPECTED } from "./_browser_pages.ts";
import { serveStatic } from "./_static_server.ts";
import { buildWeb, WEB_DIR } from "./_web_build.ts";

/** One in-page test's outcome (tests/browser/in_page.ts's TestResult). */
interface TestResult {
  name: string;
  outcome: "passed" | "failed" | "skipped";
  ms: number;
  error?: string;
}

const failures: string[] = [];
let passed = 0;
/** The in-page tests' outcomes (part 1). */
const inPage = { passed: 0, failed: 0, skipped: 0 };

/** Runs one named check; a throw fails it (printed, counted) without stopping the others. */
async function check(name: string, fn: () => Promise<string | void>): Promise<void> {
  const t0 = performance.now();
  try {
    const detail = await fn();
    passed++;
    console.log(`  ok    ${name} (${sinceS(t0)})${detail ? `: ${detail}` : ""}`);
  } catch (e) {
    failures.push(name);
    console.log(`  FAIL  ${name} (${sinceS(t0)}): ${(e as Error).message ?? e}`);
  }
}
const sinceS = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** A page whose uncaught errors and console errors are collected in `errors`. */
async function newPage(browser: Browser, errors: string[]): Promise<Page> {
  const page = await browser.newPage();
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  return page;
}

/** `promise`, or a rejection with `message` after `ms`; the timer never outlives it. */
async function within<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Part 1: the reference tests in the page, each reported as it ends; returns the adapter. */
async function referenceTests(browser: Browser, base: string): Promise<string> {
  const page = await browser.newPage();
  const results: TestResult[] = [];
  let current = "", adapter = "", announced = -1;
  let done = () => {}, failed = (_: Error) => {};
  const finished = new Promise<void>((resolve, reject) => [done, failed] = [resolve, reject]);
  page.on("pageerror", (e) => failed(new Error(`the test page failed: ${e.message}`)));
  // Registered before the page loads, so that no report can go missing.
  await Promise.all([
    page.exposeFunction(
      "suiteStarted",
      (info: { adapter: string; fallback: boolean; tests: number }) => {
        adapter = `${info.adapter}${info.fallback ? ", a fallback (software) adapter" : ""}`;
        announced = info.tests;
        console.log(`  in-page reference tests (${info.tests}), WebGPU adapter: ${adapter}`);
      },
    ),
    page.exposeFunction("testStarted", (name: string) => current = name),
    page.exposeFunction("testDone", (r: TestResult) => {
      results.push(r);
      inPage[r.outcome]++;
      current = "";
      // The same tests pass on Deno, Node and Bun, each named there: here only those that did not
      // pass are (a hang names the test it is in).
      if (r.outcome === "passed") return;
      const mark = r.outcome === "skipped" ? "SKIP" : "FAIL";
      console.log(`    ${mark}  ${r.name} (${r.ms.toFixed(0)} ms)`);
      if (r.error) console.log(`          ${r.error.split("\n").slice(0, 3).join("\n          ")}`);
    }),
    page.exposeFunction("suiteDone", () => done()),
  ]);
  await check("the package's reference tests inside the page", async () => {
    await page.goto(`${base}tests.html`);
    await within(
      finished,
      600_000,
      () => `timed out after 10 minutes${current ? ` in '${current}'` : ""}`,
    );
    const bad = results.filter((r) => r.outcome !== "passed");
    assert(
      results.length > 0 && results.length === announced,
      `${results.length} results for ${announced} tests`,
    );
    assert(
      bad.length === 0,
      `${bad.length} of ${results.length} failed or skipped: ${bad.map((r) => `'${r.name}'`)}`,
    );
    return `${results.length} passed on ${adapter}`;
  });
  await page.close();
  return adapter;
}

const DONE =
  /^done: held-out accuracy ([\d.]+)% \(majority class ([\d.]+)%\), zeros ([\d.]+)% \(trained rows ([\d.]+)%\), held-out loss ([\d.]+) -> ([\d.]+), (\d+) epochs?, ([\d.]+) s$/;
/** The numbers of a done line. */
function doneNumbers(line: string) {
  const [, accuracy, majority, zeros, trainedZeros, before, after] = line.match(DONE)!.map(Number);
  return { accuracy, majority, zeros, trainedZeros, before, after };
}

/** Waits for the page's status to say done (or for an error), and returns the done line. */
async function waitDone(page: Page, timeout = 300_000): Promise<string> {
  await page.waitForFunction(
    () => {
      const status = document.getElementById("status")!;
      return /^done:/.test(status.textContent ?? "") || status.className === "fatal" ||
        !document.getElementById("error")!.hidden;
    },
    null,
    { timeout, polling: 200 },
  );
  const status = (await page.textContent("#status")) ?? "";
  const error = await page.$eval("#error", (e) => (e as HTMLElement).hidden ? "" : e.textContent);
  assert(!error, `the page shows an error: ${error}`);
  assert(DONE.test(status), `the page's status is not a done line: ${status}`);
  return status;
}

/** Clicks Download checkpoint and returns the file's bytes. */
async function download(page: Page): Promise<Uint8Array> {
  const [file] = await Promise.all([page.waitForEvent("download"), page.click("#download")]);
  return new Uint8Array(await readFile((await file.path())!));
}

const same = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** Parts 2 to 5: the training page. */
async function trainingPage(browser: Browser, base: string, foreign: () => Uint8Array) {
  const errors: string[] = [];
  const page = await newPage(browser, errors);
  let saved: Uint8Array | undefined;
  await check("training page, unattended: ?epochs=1&limit=600&autostart=1", async () => {
    await page.goto(`${base}?epochs=1&limit=600&autostart=1`);
    const line = await waitDone(page);
    const { accuracy, majority, before, after } = doneNumbers(line);
    assert(accuracy > majority, `accuracy ${accuracy}% does not beat the majority ${majority}%`);
    assert(after < before, `the held-out loss did not fall: ${before} -> ${after}`);
    const adapter = await page.textContent("#adapter");
    const epoch = (await page.textContent("#log"))?.match(/epoch 1 .*/)?.[0];
    await page.screenshot({ path: `${WEB_DIR}/trained_page.png`, fullPage: true });
    assert(errors.length === 0, `errors in the page: ${errors.join("; ")}`);
    return `${line}\n          ${epoch}\n          ${adapter}; screenshot ${WEB_DIR}/trained_page.png`;
  });
  await check("checkpoint download names the optimizer as Deno, Node and Bun do", async () => {
    saved = await download(page);
    const { tensors, metadata } = decodeSafetensors(saved);
    const names = [...tensors.keys()].sort();
    assert(
      names.join() === "Adagrad/iter,spam/bias,spam/bias/accumulator,spam/table," +
          "spam/table/accumulator",
      `tensors ${names}`,
    );
    assert(
      metadata.optimizer_class === "Adagrad",
      `metadata.optimizer_class is '${metadata.optimizer_class}', not 'Adagrad': a checkpoint ` +
        `saved in a bundled page does not load in the CLI demo (restoreCheckpoint compares it)`,
    );
    return `${saved.length.toLocaleString("en")} bytes, epochs ${metadata.epochs}`;
  });
  await check(
    "another model's checkpoint: the restore error, and the model unchanged",
    async () => {
      assert(saved, "no checkpoint was downloaded");
      const model = await page.textContent("#model");
      await page.setInputFiles("#load", {
        name: "dense_model.safetensors",
        mimeType: "application/octet-stream",
        buffer: Buffer.from(foreign()),
      });
      await page.waitForSelector("#error:not([hidden])", { timeout: 30_000 });
      const error = (await page.textContent("#error"))!;
      assert(
        /^Cannot load dense_model\.safetensors: restoreCheckpoint: .*spam\/table/.test(error),
        `unexpected error: ${error}`,
      );
      assert((await page.textContent("#model")) === model, `the model line changed: ${model}`);
      assert(same(await download(page), saved), "the model's checkpoint changed");
      return error;
    },
  );
  await check("a fresh page loads the checkpoint, saves the same bytes, continues", async () => {
    assert(saved, "no checkpoint was downloaded");
    await page.goto(`${base}?epochs=1&limit=600`);
    await page.waitForSelector("#train:not([disabled])");
    await page.setInputFiles("#load", {
      name: "spam_classifier.safetensors",
      mimeType: "application/octet-stream",
      buffer: Buffer.from(saved),
    });
    await page.waitForFunction(() =>
      /^loaded /.test(document.getElementById("status")!.textContent!)
    );
    assert(same(await download(page), saved), "restore then save changed the bytes");
    await page.click("#continue");
    const line = await waitDone(page);
    assert(/, 2 epochs, /.test(line), `continuing did not make 2 epochs: ${line}`);
    assert(errors.length === 0, `errors in the page: ${errors.join("; ")}`);
    return line;
  });
  await check("RowWiseAdagrad, epsilon inside the sqrt, clipnorm: they train", async () => {
    await page.goto(
      `${base}?epochs=1&limit=600&optimizer=rowwise&epsilon=inside&clipnorm=1&autostart=1`,
    );
    const line = await waitDone(page);
    const model = (await page.textContent("#model"))!;
    assert(
      /RowWiseAdagrad \(epsilon inside .* clipnorm 1,/.test(model),
      `the model is not what the URL asked for: ${model}`,
    );
    const { before, after } = doneNumbers(line);
    assert(after < before, `the held-out loss did not fall: ${before} -> ${after}`);
    return model;
  });
  await check(
    "ProximalAdagrad with an L1: trained rows exactly zero, and it learns",
    async () => {
      await page.goto(`${base}?epochs=1&limit=600&optimizer=proximal&l1=0.001&autostart=1`);
      const line = await waitDone(page);
      const model = (await page.textContent("#model"))!;
      assert(
        /ProximalAdagrad \(l1 0\.001, l2 0, learning rate 0\.2,/.test(model),
        `the model is not what the URL asked for: ${model}`,
      );
      const { accuracy, majority, trainedZeros, before, after } = doneNumbers(line);
      assert(accuracy > majority, `accuracy ${accuracy}% does not beat the majority ${majority}%`);
      assert(after < before, `the held-out loss did not fall: ${before} -> ${after}`);
      // Plain Adagrad leaves almost no trained row at zero; this L1, about half of them (48.6%
      // of 100,921 in Deno on lavapipe).
      assert(trainedZeros > 30, `only ${trainedZeros}% of the trained rows are zero: ${line}`);
      return line;
    },
  );
  await check("Stop ends training between two batches; the epoch does not count", async () => {
    await page.goto(`${base}?epochs=50&chart=1&autostart=1`); // 76 batches an epoch
    await page.waitForFunction(() =>
      /^epoch 1: /.test(document.getElementById("status")!.textContent!)
    );
    await page.click("#stop");
    await page.waitForFunction(() =>
      /^stopped during epoch/.test(document.getElementById("status")!.textContent!)
    );
    const model = (await page.textContent("#model"))!;
    assert(/: 0 epochs, [1-9]\d* steps$/.test(model), `after Stop: ${model}`);
    assert(await page.$eval("#continue", (b) => !(b as HTMLButtonElement).disabled), "no Continue");
    return model.replace(/.*: /, "");
  });
  await check("bad settings in the URL: a message, no training", async () => {
    await page.goto(`${base}?epochs=two&lr=-1&autostart=1`);
    await page.waitForSelector("#error:not([hidden])", { timeout: 60_000 });
    const error = (await page.textContent("#error"))!;
    assert(
      /learning rate must be a positive number, got '-1'.*epochs must be a positive integer, got 'two'/
        .test(error),
      `unexpected message: ${error}`,
    );
    assert((await page.textContent("#model")) === "model: none yet", "it trained anyway");
    return error;
  });
  await page.close();
  const noGpu = await browser.newPage();
  await check("a browser without WebGPU: a clear message on the page", async () => {
    await noGpu.addInitScript(() => delete (Navigator.prototype as { gpu?: unknown }).gpu);
    await noGpu.goto(`${base}?autostart=1`);
    await noGpu.waitForSelector("#status.fatal", { timeout: 30_000 });
    const text = (await noGpu.textContent("#status"))!;
    assert(/This browser has no WebGPU/.test(text), `unexpected message: ${text}`);
    assert(await noGpu.$eval("#train", (b) => (b as HTMLButtonElement).disabled), "Train works");
    return text.slice(0, 60) + "...";
  });
  await noGpu.close();
}

/** Part 6: README's import-map recipe against the npm build. */
async function recipe(browser: Browser, base: string): Promise<void> {
  await check("README's import-map recipe, importing the npm build served locally", async () => {
    await buildRecipePage(`${WEB_DIR}/recipe.html`);
    const errors: string[] = [];
    const page = await newPage(browser, errors);
    const logged = new Promise<number[]>((resolve) => {
      page.on("console", async (m) => {
        if (m.type() === "log") resolve(await m.args()[0].evaluate((v) => Array.from(v as never)));
      });
    });
    await page.goto(`${base}recipe.html`);
    const values = await within(logged, 60_000, () => `nothing logged; errors: ${errors}`);
    await page.close();
    assert(errors.length === 0, `errors in the page: ${errors.join("; ")}`);
    const wrong = RECIPE_EXPECTED.some((x, i) => !(Math.abs(values[i] - x) <= 1e-6 * Math.abs(x)));
    assert(!wrong && values.length === 4, `logged ${values}, expected ${RECIPE_EXPECTED}`);
    return `w = [${values.map((v) => v.toFixed(6))}]`;
  });
}

/** Part 7: a bundler build of the npm package, and a step with it in the page. */
async function bundle(browser: Browser, base: string): Promise<Uint8Array | undefined> {
  const built = await buildBundleCheck(`${WEB_DIR}/bundle_check`);
  await check('esbuild bundles `import { Adagrad } from "webgpu-adagrad"` for the browser', () => {
    if (built.error) throw new Error(built.error);
    return Promise.resolve(`${built.bytes.toLocaleString("en")} bytes`);
  });
  await check("the bundles hold no node: import", () => {
    assert(built.nodeImports.length === 0, `found ${built.nodeImports.join(", ")}`);
    return Promise.resolve();
  });
  let checkpoint: Uint8Array | undefined;
  await check("the bundled package runs a step and saves a checkpoint in the page", async () => {
    const errors: string[] = [];
    const page = await newPage(browser, errors);
    await page.goto(`${base}bundle_check/index.html`);
    const result = await page.waitForFunction(
      () => (globalThis as { bundleResult?: unknown }).bundleResult,
      null,
      { timeout: 60_000 },
    ).then((h) => h.jsonValue() as Promise<{ w: number[]; checkpoint: number[] }>)
      .catch((e) => {
        throw new Error(errors.length > 0 ? `errors in the page: ${errors}` : e.message);
      });
    await page.close();
    assert(errors.length === 0, `errors in the page: ${errors.join("; ")}`);
    const wrong = RECIPE_EXPECTED.some((x, i) => !(Math.abs(result.w[i] - x) <= 1e-6 * x));
    assert(!wrong, `w = ${result.w}, expected ${RECIPE_EXPECTED}`);
    checkpoint = Uint8Array.from(result.checkpoint);
    const { metadata } = decodeSafetensors(checkpoint);
    assert(
      metadata.optimizer_class === "Adagrad",
      `a minified bundle's checkpoint says optimizer_class '${metadata.optimizer_class}'`,
    );
  });
  return checkpoint;
}

/**
 * Runs every part; throws when any check failed. Ends with a summary line; with `counts`, writes
 * the counts there as JSON instead (scripts/test.ts prints the line).
 */
export async function browserTests(counts?: string): Promise<void> {
  const t0 = performance.now();
  console.log("browser tests (headless Chromium):");
  await buildWeb();
  let base = "";
  const server = serveStatic({ "/": WEB_DIR, "/npm/": "npm" }, 0, (url) => base = url);
  const browser = await launchChromium();
  try {
    console.log(`  ${browser.version()} at ${base}`);
    if (await referenceTests(browser, base) === "none") {
      failures.push("a WebGPU adapter in Chromium");
      throw new Error("Chromium has no WebGPU adapter: the other browser checks cannot run");
    }
    const foreign = await bundle(browser, base);
    await recipe(browser, base);
    await trainingPage(browser, base, () => {
      if (!foreign) throw new Error("no checkpoint of another model: the bundle check failed");
      return foreign;
    });
  } finally {
    await browser.close();
    await server.shutdown();
  }
  const checks = { passed, failed: failures.length, skipped: 0 };
  if (counts) {
    const tests = (c: typeof checks) => ({ tests: c.passed + c.failed + c.skipped, ...c });
    await Deno.writeTextFile(
      counts,
      JSON.stringify({ checks: tests(checks), inPage: tests(inPage) }),
    );
  } else {
    console.log(
      `browser: ${passed} checks passed, ${failures.length} failed; in the page, tests ` +
        `${inPage.passed} passed, ${inPage.failed} failed, ${inPage.skipped} skipped ` +
        `(${sinceS(t0)})`,
    );
  }
  if (failures.length > 0) {
    throw new Error(`browser checks failed: ${failures.map((f) => `'${f}'`).join(", ")}`);
  }
}

if (import.meta.main) {
  try {
    const counts = Deno.args.find((a) => a.startsWith("--counts="))?.slice("--counts=".length);
    await browserTests(counts);
  } catch (e) {
    console.error((e as Error).message);
    Deno.exit(1);
  }
}
