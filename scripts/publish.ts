/**
 * `scripts/run.sh publish`: checks that both packages would publish, without publishing anything
 * (the default, a dry run):
 *
 * 1. JSR (`@webgpu-adagrad/core`): `deno publish --dry-run`, which fails on errors (slow types,
 *    files it cannot analyse) and only warns about the rest; JSR shows those warnings on the
 *    package's page and lowers its score, so any warning fails here too (.ci/run runs this task);
 * 2. npm (`webgpu-adagrad`): the npm package built into `npm/` (scripts/build_npm.ts, without its
 *    checks), then `npm publish --dry-run` there, failing on any warning (a package.json that npm
 *    would auto-correct, say) but the one that says a dry run needs no login.
 *
 * `--no-dry-run` publishes both for real, once both dry runs have passed: needs a clean git tree,
 * a JSR login (`deno publish` opens the browser to authorize) and `npm login`.
 *
 *     scripts/run.sh publish [--no-dry-run]
 *
 * @module
 */
import process from "node:process";
import { spawnSync } from "node:child_process";
import { buildNpm } from "./build_npm.ts";
import { OUT } from "./_npm_layout.ts";
import { run } from "./_run.ts";

/** Runs `command args` with colours off; returns its exit status and its stdout and stderr. */
function capture(command: string, args: string[], cwd?: string) {
  const result = spawnSync(command, args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** Fails, with `output` printed, when the dry run exited non-zero or printed a warning. */
function check(what: string, status: number | null, output: string, warnings: string[]): void {
  console.log(output.trimEnd());
  if (status !== 0) throw new Error(`${what} failed (exit status ${status}): see above`);
  if (warnings.length) {
    throw new Error(
      `${what} printed ${warnings.length} warning(s), which the registry would show or act on:\n` +
        warnings.join("\n"),
    );
  }
  console.log(`${what}: would publish, no warnings`);
}

/** `deno publish --dry-run`: its warnings are every line saying "warning" but the file list's. */
export function jsrDryRun(): void {
  const { status, output } = capture(process.execPath, ["publish", "--dry-run", "--allow-dirty"]);
  const warnings = output.split("\n").filter((line) =>
    !/^\s*file:\/\//.test(line) && /warning/i.test(line)
  );
  check("JSR: deno publish --dry-run", status, output, warnings);
}

/** `npm publish --dry-run` of the built package in `npm/`. */
export function npmDryRun(): void {
  const { status, output } = capture("npm", ["publish", "--dry-run"], OUT);
  // A dry run without `npm login` warns that publishing needs one; that is no fault of the package.
  const warnings = output.split("\n").filter((line) =>
    /^npm warn/i.test(line) && !/requires you to be logged in .*\(dry-run\)/.test(line)
  );
  check(`npm: npm publish --dry-run (in ${OUT}/)`, status, output, warnings);
}

if (import.meta.main) {
  const real = process.argv.includes("--no-dry-run");
  jsrDryRun();
  await buildNpm();
  npmDryRun();
  if (real) {
    run(process.execPath, ["publish"]);
    run("npm", ["publish"], { cwd: OUT });
    console.log("published to JSR and npm");
  } else {
    console.log("both packages would publish (a dry run: `--no-dry-run` publishes them)");
  }
}
