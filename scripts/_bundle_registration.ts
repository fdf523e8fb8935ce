/**
 * The npm package's `sideEffects` list keeps TF.js's class registration (`registerClass` at the
 * end of src/tfjs/tfjs_adagrad.ts) when a bundler tree-shakes: an application that imports only
 * `useDeviceForTfjs` from the tfjs entry, then loads a saved model, still needs TfjsAdagrad
 * registered. A stale path in the list (after a file moves) would let esbuild drop the module.
 *
 * @module
 */
import { mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import * as esbuild from "esbuild";
import { NPM_NAME, OUT } from "./_npm_layout.ts";
import { run } from "./_run.ts";

const ENTRY = `import { useDeviceForTfjs } from "${NPM_NAME}/tfjs";
import * as tf from "@tensorflow/tfjs-core";
if (typeof useDeviceForTfjs !== "function") throw new Error("no useDeviceForTfjs");
const registered = Object.keys(tf.serialization.SerializationMap.getMap().classNameMap);
console.log(JSON.stringify(registered));
`;

/** Bundles ENTRY with esbuild (tree shaking on), runs it on Node, and checks the registration. */
export async function bundleKeepsTfjsRegistration(): Promise<void> {
  const dir = resolve(`${OUT}/.bundle_registration`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(`${dir}/node_modules`, { recursive: true });
  await symlink(resolve(OUT), `${dir}/node_modules/${NPM_NAME}`, "dir");
  await writeFile(`${dir}/entry.mjs`, ENTRY);
  try {
    await esbuild.build({
      absWorkingDir: dir,
      entryPoints: ["entry.mjs"],
      outfile: "out.mjs",
      bundle: true,
      format: "esm",
      platform: "node",
      treeShaking: true,
      // TF.js stays one shared module (its registry), resolved from the repository at run time.
      external: ["@tensorflow/*", "webgpu"],
      logLevel: "silent",
    });
  } finally {
    await esbuild.stop();
  }
  const bundle = await readFile(`${dir}/out.mjs`, "utf8");
  const out = run("node", ["out.mjs"], { cwd: dir, capture: true });
  const registered: string[] = JSON.parse(out.trim().split("\n").at(-1)!);
  if (!registered.includes("TfjsAdagrad")) {
    throw new Error(
      `a tree-shaken bundle of ${NPM_NAME}/tfjs dropped TfjsAdagrad's registerClass ` +
        `(registered: ${
          registered.join(", ") || "none"
        }); check sideEffects in scripts/build_npm.ts`,
    );
  }
  console.log(
    `esbuild: a tree-shaken bundle (${bundle.length} bytes) keeps TfjsAdagrad's registration`,
  );
}
