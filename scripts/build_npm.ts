/**
 * Builds the npm package into `npm/` from the Deno source with TypeScript's compiler (pinned in
 * package.json), doing what dnt does (dnt itself is on JSR only, out of reach here):
 *
 * 1. `src/_kernels/shaders.ts` checked against `shaders/*.wgsl`;
 * 2. the entry points (`mod.ts`, `tfjs.ts`, `node.ts`) and `src/` compiled to ES modules with
 *    declarations in `npm/esm/`, relative `.ts` specifiers rewritten to `.js` in the JavaScript
 *    (`rewriteRelativeImportExtensions`) and in the declarations (this script);
 * 3. `npm/package.json` generated (version from deno.json), README and LICENSE copied;
 * 4. the tests (every `*_test.ts` under tests/, scripts/_test_files.ts) compiled into `npm/.test/`
 *    around a copy of the built `esm/` files, so that Node runs them against exactly what is
 *    published.
 *
 * Then, unless `--no-checks`, the checks of scripts/npm_checks.ts: the test suite under Node
 * against the build, the tarball's contents, and consumer projects on Node and Bun. With
 * `--if-stale`, a build made from the same sources is kept (`scripts/run.sh test` passes it).
 *
 *     scripts/run.sh build:npm [--no-checks] [--if-stale]
 *
 * `scripts/run.sh pack` builds the same way (no checks) and packs the tarball (scripts/pack_npm.ts).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { cp, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import process from "node:process";
import { readShaderFiles, renderShaderModule, SHADER_DIR } from "./gen_shaders.ts";
import { run } from "./_run.ts";
import { NPM_NAME, OUT } from "./_npm_layout.ts";
import { REPOSITORY_URL } from "./_repository.ts";
import { testFiles } from "./_test_files.ts";

/** Compiler options shared by the library and test builds (dnt's ESM pass, TypeScript 6). */
const COMPILER_OPTIONS = {
  target: "ES2022",
  module: "ESNext",
  moduleResolution: "Bundler",
  lib: ["ES2022", "DOM"],
  strict: true,
  isolatedModules: true,
  verbatimModuleSyntax: true,
  allowImportingTsExtensions: true,
  rewriteRelativeImportExtensions: true,
  skipLibCheck: true,
  noEmitOnError: true,
  rootDir: "..",
};

async function tsc(name: string, config: object): Promise<void> {
  const path = `${OUT}/${name}`;
  await writeFile(path, JSON.stringify(config, null, 2));
  run("node", ["node_modules/typescript/bin/tsc", "-p", path]);
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...await walk(path));
    else out.push(path);
  }
  return out;
}

/** Relative `.ts` specifiers in declarations become `.js`, as in the emitted JavaScript. */
async function fixDeclarations(dir: string): Promise<void> {
  for (const file of (await walk(dir)).filter((f) => f.endsWith(".d.ts"))) {
    const text = await readFile(file, "utf8");
    const fixed = text.replace(/(from\s+|import\()(["'])(\.{1,2}\/[^"']*)\.ts\2/g, "$1$2$3.js$2");
    if (fixed !== text) await writeFile(file, fixed);
  }
}

/** The generated package.json, keys in dnt's order. */
function packageJson(deno: { version: string }) {
  return {
    name: NPM_NAME,
    version: deno.version,
    // npm's search shows this line: it names the whole family, as README.md's first paragraph does.
    description: "The Adagrad family as fused WebGPU compute shaders: Keras's (2 and 3), " +
      "PyTorch's, row-wise (FBGEMM), TensorFlow's ProximalAdagrad and AdagradDA; dense and sparse " +
      "(IndexedSlices) steps in one submit, and a TF.js optimizer.",
    keywords: ["webgpu", "adagrad", "optimizer", "keras", "wgsl", "machine-learning", "gpu"],
    homepage: `${REPOSITORY_URL}#readme`,
    // npm's page resolves the README's relative links (docs/*.md) against the repository.
    repository: { type: "git", url: `git+${REPOSITORY_URL}.git` },
    bugs: { url: `${REPOSITORY_URL}/issues` },
    license: "MIT",
    type: "module",
    module: "./esm/mod.js",
    types: "./esm/mod.d.ts",
    exports: {
      ".": { types: "./esm/mod.d.ts", default: "./esm/mod.js" },
      "./tfjs": { types: "./esm/tfjs.d.ts", default: "./esm/tfjs.js" },
      "./node": { types: "./esm/node.d.ts", default: "./esm/node.js" },
    },
    files: ["esm/", "README.md", "LICENSE"],
    // tfjs.js registers TfjsAdagrad with TF.js's serialization (what loading a saved model needs);
    // node.js installs navigator.gpu. Bundlers read this from the nearest package.json, so esm/
    // has none of its own (scripts/_bundle_registration.ts checks that a tree-shaken bundle keeps
    // the registration).
    sideEffects: ["./esm/tfjs.js", "./esm/src/tfjs/tfjs_adagrad.js", "./esm/node.js"],
    // Only `webgpu-adagrad/tfjs` needs TF.js and only `webgpu-adagrad/node` needs `webgpu`; the
    // main entry has no dependencies.
    peerDependencies: {
      "@tensorflow/tfjs-core": "^4.22.0",
      "@tensorflow/tfjs-backend-webgpu": "^4.22.0",
      webgpu: ">=0.6.2",
    },
    peerDependenciesMeta: {
      "@tensorflow/tfjs-core": { optional: true },
      "@tensorflow/tfjs-backend-webgpu": { optional: true },
      webgpu: { optional: true },
    },
    engines: { node: ">=20.19" },
    _generatedBy: "scripts/build_npm.ts",
  };
}

/** Where a build records what it was built from (outside `files`: not in the tarball). */
const KEY_FILE = `${OUT}/.built-from`;

/**
 * What a build is made from: the contents of every file in the working tree that git tracks or
 * would track (an edit anywhere rebuilds: the tests import examples/ and scripts/, README.md is
 * copied, package-lock.json pins the compiler), and the compiler's version. Null where git cannot
 * list the files; then nothing counts as fresh.
 */
async function sourceKey(): Promise<string | null> {
  let files: string[];
  try {
    files = run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
      capture: true,
    }).split("\0").filter(Boolean).sort();
  } catch {
    return null;
  }
  const hash = createHash("sha256");
  const typescript = JSON.parse(await readFile("node_modules/typescript/package.json", "utf8"));
  hash.update(`typescript ${typescript.version}\0`);
  for (const file of [...new Set(files)]) {
    // A tracked file deleted from the working tree is listed too.
    const content = await readFile(file).catch(() => null);
    hash.update(`${file}\0${content ? content.length : "deleted"}\0`);
    if (content) hash.update(content);
  }
  return hash.digest("hex");
}

/**
 * Builds `npm/`. With `ifStale`, a build made from the same sources (sourceKey) is kept as it is:
 * `deno task test` run again after no change, or after `deno task build:npm`, saves the build's
 * 15-30 s.
 */
export async function buildNpm({ ifStale = false } = {}): Promise<void> {
  const deno = JSON.parse(await readFile("deno.json", "utf8"));
  const shaders = renderShaderModule(await readShaderFiles(SHADER_DIR));
  if (shaders !== await readFile("src/_kernels/shaders.ts", "utf8")) {
    throw new Error("src/_kernels/shaders.ts is stale: run `scripts/run.sh shaders`");
  }
  const key = await sourceKey();
  if (ifStale && key && await readFile(KEY_FILE, "utf8").catch(() => null) === key) {
    console.log(`${OUT}/ is up to date: built from these sources (${KEY_FILE}), not rebuilt`);
    return;
  }
  await rm(OUT, { recursive: true, force: true });
  await mkdir(OUT);
  await tsc("tsconfig.lib.json", {
    compilerOptions: { ...COMPILER_OPTIONS, outDir: "esm", declaration: true, types: [] },
    files: ["../mod.ts", "../tfjs.ts", "../node.ts"],
  });
  await fixDeclarations(`${OUT}/esm`);
  await writeFile(`${OUT}/package.json`, JSON.stringify(packageJson(deno), null, 2) + "\n");
  for (const file of ["README.md", "LICENSE"]) await cp(file, `${OUT}/${file}`);

  // The tests, compiled the same way; then the library part of that output is replaced by the
  // built files, so the tests import exactly what the package ships.
  // Every *_test.ts under tests/ (each folder), and the child process runtimes_test.ts starts.
  const tests = [...await testFiles(), "tests/package/one_step_main.ts"];
  await tsc("tsconfig.test.json", {
    compilerOptions: { ...COMPILER_OPTIONS, outDir: ".test", types: ["node"] },
    files: tests.map((f) => `../${f}`),
  });
  await rm(`${OUT}/.test/src`, { recursive: true });
  for (const entry of ["mod.js", "tfjs.js"]) {
    await rm(`${OUT}/.test/${entry}`);
    await cp(`${OUT}/esm/${entry}`, `${OUT}/.test/${entry}`);
  }
  await cp(`${OUT}/esm/src`, `${OUT}/.test/src`, { recursive: true });
  await writeFile(`${OUT}/.test/package.json`, JSON.stringify({ type: "module" }) + "\n");
  // The examples' shaders, which they read beside their modules.
  for (const file of (await readdir("examples")).filter((f) => f.endsWith(".wgsl"))) {
    await cp(`examples/${file}`, `${OUT}/.test/examples/${file}`);
  }
  // Written last: a build that fails half-way leaves no key, so the next one starts afresh.
  if (key) await writeFile(KEY_FILE, key);
  console.log(`built ${OUT}/ (${NPM_NAME}@${deno.version})`);
}

if (import.meta.main) {
  await buildNpm({ ifStale: process.argv.includes("--if-stale") });
  if (!process.argv.includes("--no-checks")) {
    const { npmChecks } = await import("./npm_checks.ts");
    await npmChecks();
  }
}
