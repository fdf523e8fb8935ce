/**
 * `scripts/run.sh pack`: builds the npm package (scripts/build_npm.ts, without its checks, which take
 * minutes: `scripts/run.sh build:npm` runs them) and packs it with `npm pack` into
 * `dist/webgpu-adagrad-<version>.tgz`. The package is on neither npm nor JSR yet, so this tarball is
 * how README.md's Install section has a Node or Bun project install it; the npm checks
 * (scripts/npm_checks.ts) follow that section's commands with the same `packTarball`.
 *
 *     scripts/run.sh pack
 *
 * @module
 */
import { mkdir } from "node:fs/promises";
import { basename, resolve } from "node:path";
import { DIST, OUT } from "./_npm_layout.ts";
import { run } from "./_run.ts";

/**
 * Packs the built package (`npm/`, from scripts/build_npm.ts) into `destination` with `npm pack`;
 * returns the tarball's path.
 */
export async function packTarball(destination: string): Promise<string> {
  await mkdir(destination, { recursive: true });
  const out = run(
    "npm",
    ["pack", "--json", "--loglevel=error", "--pack-destination", resolve(destination)],
    { cwd: OUT, capture: true },
  );
  const [{ filename }] = JSON.parse(out) as { filename: string }[];
  return `${destination}/${basename(filename)}`;
}

if (import.meta.main) {
  const { buildNpm } = await import("./build_npm.ts");
  await buildNpm();
  const tarball = await packTarball(DIST);
  const name = basename(tarball);
  console.log(`packed ${tarball}
To install it in a project of yours (README.md, "Install"): copy it there, then
  npm install ./${name} webgpu
or install it from here:
  npm install ${resolve(tarball)} webgpu`);
}
