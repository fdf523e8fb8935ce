// Pages the browser tests build from the npm package (npm/, served at /npm/): README's import-map
// recipe as written, and a bundler build of the package as an application would make it.
import { mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import * as esbuild from "esbuild";

/** README's recipe: w = 1 after one step with g = [0.1, 0.2, 0.3, 0.4] at learning rate 0.1. */
export const RECIPE_EXPECTED: number[] = [0.1, 0.2, 0.3, 0.4].map((g) =>
  1 - 0.1 * g / (Math.sqrt(0.1 + g * g) + 1e-7)
);

const CDN = "https://cdn.jsdelivr.net/npm/webgpu-adagrad/";

/** Writes README.md's import-map recipe to `path`, with the CDN URL pointing at /npm/. */
export async function buildRecipePage(path: string): Promise<void> {
  const readme = await readFile("README.md", "utf8");
  const blocks = [...readme.matchAll(/```html\n([\s\S]*?)```/g)].map((m) => m[1]);
  const recipe = blocks.filter((b) => b.includes('type="importmap"'));
  if (recipe.length !== 1) {
    throw new Error(`README.md has ${recipe.length} html blocks with an import map, expected 1`);
  }
  if (recipe[0].split(CDN).length !== 2) {
    throw new Error(`README.md's import map does not map webgpu-adagrad to ${CDN}...`);
  }
  const local = recipe[0].replace(CDN, "/npm/");
  await writeFile(
    path,
    `<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><link rel="icon" ` +
      `href="data:,"><title>README recipe</title></head>\n<body>\n${local}</body>\n</html>\n`,
  );
}

const ADAGRAD_ONLY = `import { Adagrad } from "webgpu-adagrad";
console.log(new Adagrad({ learningRate: 0.1 }).getConfig());
`;

const STEP =
  `import { Adagrad, requestDevice, saveCheckpoint, VariableStore } from "webgpu-adagrad";
const device = await requestDevice();
const store = new VariableStore(device);
const w = store.variable("dense/kernel", [4], 1);
const opt = new Adagrad({ learningRate: 0.1 });
await opt.applyGradients([[new Float32Array([0.1, 0.2, 0.3, 0.4]), w]]);
const checkpoint = await saveCheckpoint({ variables: [w], optimizer: opt });
globalThis.bundleResult = { w: Array.from(await w.read()), checkpoint: Array.from(checkpoint) };
`;

/** What the bundler check found. */
export interface BundleCheck {
  /** esbuild's error, when the build as an application would make it failed. */
  error?: string;
  /** Bytes of the bundles. */
  bytes: number;
  /** `node:` specifiers found in the bundles. */
  nodeImports: string[];
}

/**
 * Bundles two entry points against the npm build, as an application would (esbuild, browser
 * platform, minified): `import { Adagrad } from "webgpu-adagrad"` alone, and a step that saves a
 * checkpoint (`dir/index.html` runs it). When that build fails, a second one with `node:*`
 * external still produces the bundles, so that the checks after it can run.
 */
export async function buildBundleCheck(dir: string): Promise<BundleCheck> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(`${dir}/node_modules`, { recursive: true });
  await symlink(resolve("npm"), `${dir}/node_modules/webgpu-adagrad`, "dir");
  await writeFile(`${dir}/adagrad_only.js`, ADAGRAD_ONLY);
  await writeFile(`${dir}/step.js`, STEP);
  await writeFile(
    `${dir}/index.html`,
    `<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><link rel="icon" ` +
      `href="data:,"><title>bundle check</title></head>\n<body><script type="module" ` +
      `src="out/step.js"></script></body>\n</html>\n`,
  );
  const options: esbuild.BuildOptions = {
    absWorkingDir: resolve(dir),
    entryPoints: ["adagrad_only.js", "step.js"],
    outdir: "out",
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    logLevel: "silent",
    metafile: true,
  };
  let error: string | undefined;
  try {
    let result: esbuild.BuildResult;
    try {
      result = await esbuild.build(options);
    } catch (e) {
      const errors = (e as { errors?: esbuild.Message[] }).errors ?? [];
      error = errors.map((m) =>
        `${m.location?.file}:${m.location?.line}: ${m.text}${
          m.notes.map((n) => ` ${n.text}`)
        }`
      ).join("; ") || String(e);
      result = await esbuild.build({ ...options, external: ["node:*"] });
    }
    const outputs = Object.keys(result.metafile!.outputs);
    let bytes = 0;
    const nodeImports = new Set<string>();
    for (const file of outputs) {
      const text = await readFile(resolve(dir, file), "utf8"); // paths relative to dir
      bytes += text.length;
      for (const m of text.matchAll(/node:[\w/]+/g)) nodeImports.add(`${m[0]} in ${file}`);
    }
    return { error, bytes, nodeImports: [...nodeImports] };
  } finally {
    await esbuild.stop();
  }
}
