// The documentation as a reader meets it: README.md's Quick start and the guide's examples run as
// written (each a `deno run` process of its own, with no permissions, as the README says to run
// them), the README keeps its shape, images are absolute links to the repository's raw files,
// relative links lead to files and headings that exist, and the commands shown run in a clone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type DocBlock, namedBlock } from "../../scripts/_doc_blocks.ts";
import { DIST, tarballName } from "../../scripts/_npm_layout.ts";
import { RAW_URL } from "../../scripts/_repository.ts";
import { repoRoot } from "../_repo.ts";

const root = repoRoot();
const read = (file: string) => readFileSync(new URL(file, root), "utf8");
const markdownFiles = () => [
  "README.md",
  ...readdirSync(new URL("docs/", root)).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`),
];
const isDeno = "Deno" in globalThis;
const denoOnly = isDeno ? false : "runs the blocks with Deno, as the README says (the Deno suite)";

/** Runs `block` with `deno run` and no permissions, the repository's deno.json mapping the name. */
function runBlock(block: DocBlock): string {
  const dir = mkdtempSync(join(tmpdir(), "webgpu-adagrad-docs-"));
  try {
    const file = join(dir, block.name);
    writeFileSync(file, block.code);
    const deno = (globalThis as unknown as { Deno: { execPath(): string } }).Deno.execPath();
    const config = fileURLToPath(new URL("deno.json", root));
    const result = spawnSync(deno, ["run", "--quiet", "--config", config, file], {
      encoding: "utf8",
      timeout: 120_000,
    });
    const output = `${result.stdout}${result.stderr}`;
    assert.equal(result.status, 0, `${block.name} failed:\n${output}`);
    return result.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The numbers after "loss " in `output`, in order. */
const losses = (output: string) => [...output.matchAll(/loss (\S+)/g)].map((m) => Number(m[1]));

test("README.md: the Quick start comes within 60 lines, the whole within 350", () => {
  const lines = read("README.md").split("\n");
  const heading = lines.indexOf("## Quick start") + 1;
  const block = namedBlock(lines.join("\n"), "quick_start.ts", "README.md");
  assert.ok(heading > 0 && heading < block.line, "the block is under '## Quick start'");
  const end = block.line + block.code.split("\n").length; // the closing fence
  assert.ok(end <= 60, `the Quick start ends on line ${end}`);
  assert.ok(lines.length <= 350, `README.md has ${lines.length} lines`);
});

test(
  "README.md's Quick start runs as written with Deno, and its loss falls",
  { skip: denoOnly },
  () => {
    const out = runBlock(namedBlock(read("README.md"), "quick_start.ts", "README.md"));
    const l = losses(out);
    assert.equal(l.length, 5, out);
    for (let i = 1; i < l.length; i++) assert.ok(l[i] < l[i - 1], `loss rose: ${l}`);
    assert.ok(l[l.length - 1] < 1e-4, `final loss ${l[l.length - 1]}`);
    const w = out.match(/w = Float32Array\(3\) \[([^\]]*)\]/)?.[1].split(",").map(Number);
    assert.ok(w, out);
    w.forEach((x, i) => assert.ok(Math.abs(x - [1, -1, 2][i]) < 0.01, `w = ${w}`));
  },
);

test("docs/guide.md: the WGSL backward pass writing into variable.grad trains", {
  skip: denoOnly,
}, () => {
  const out = runBlock(namedBlock(read("docs/guide.md"), "wgsl_gradient.ts", "docs/guide.md"));
  const l = losses(out);
  assert.equal(l.length, 5, out); // steps 1, 50, 100, 150, 200
  assert.ok(l[0] > 0.5 && l[4] < 1e-6, `loss ${l}`);
  const numbers = (name: string) =>
    out.match(new RegExp(`${name} = Float32Array\\(\\d\\) \\[([^\\]]*)\\]`))?.[1].split(",")
      .map(Number);
  const w = numbers("w")!, b = numbers("b")!;
  [1.5, -2, 0.5].forEach((want, i) => assert.ok(Math.abs(w[i] - want) < 1e-3, `w = ${w}`));
  assert.ok(Math.abs(b[0] - 0.25) < 1e-3, `b = ${b}`);
});

test("docs/guide.md: a gradient read back after the step is still the step's", {
  skip: denoOnly,
}, () => {
  const out = runBlock(namedBlock(read("docs/guide.md"), "read_gradient.ts", "docs/guide.md"));
  assert.match(out, /w\.grad after the step: Float32Array\(4\) \[ 0\.5, -0\.25, 0, 2 \]/);
  // Two steps of the same gradient: the second one in place, from the region kept by the first.
  const w = out.match(/w after two steps: Float32Array\(4\) \[([^\]]*)\]/)?.[1].split(",")
    .map(Number);
  assert.ok(w, out);
  const want = [0.5, -0.25, 0, 2].map((g) => {
    let [v, acc] = [1, 0.1];
    for (let i = 0; i < 2; i++) {
      acc += g * g;
      v -= (0.1 * g) / (Math.sqrt(acc) + 1e-7);
    }
    return v;
  });
  w.forEach((x, i) => assert.ok(Math.abs(x - want[i]) < 1e-6, `w = ${w}, want ${want}`));
});

test("docs/guide.md: the timing loop runs and prints its median", { skip: denoOnly }, () => {
  const out = runBlock(namedBlock(read("docs/guide.md"), "timing.ts", "docs/guide.md"));
  const ms = Number(out.match(/^(\S+) ms per step, the median of 7 rounds of 10 steps$/m)?.[1]);
  assert.ok(ms > 0 && ms < 10_000, out);
});

test("images in README.md and docs/ are absolute links to raw files that exist", () => {
  assert.ok(RAW_URL.startsWith("https://") && RAW_URL.endsWith("/"), RAW_URL);
  let images = 0;
  for (const file of markdownFiles()) {
    const text = read(file);
    const found = [
      ...[...text.matchAll(/!\[[^\]]*\]\(\s*<?([^)\s>]+)/g)].map((m) => m[1]),
      ...[...text.matchAll(/<img\b[^>]*\bsrc=["']([^"']+)["']/gi)].map((m) => m[1]),
    ];
    for (const src of found) {
      images++;
      assert.ok(
        src.startsWith(RAW_URL),
        `${file}: image '${src}' must be an absolute link under ${RAW_URL} (npm and JSR show the ` +
          `page without the repository's files)`,
      );
      const path = src.slice(RAW_URL.length).split(/[?#]/)[0];
      assert.ok(existsSync(new URL(path, root)), `${file}: '${path}' is not in the repository`);
    }
  }
  assert.ok(images >= 2, `found ${images} images`);
});

/** GitHub's anchor for a heading. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

test("relative links in README.md and docs/ lead to files and headings that exist", () => {
  const anchors = new Map<string, Set<string>>();
  const anchorsOf = (file: string) => {
    if (!anchors.has(file)) {
      const text = read(file).replace(/^```[\s\S]*?^```/gm, "");
      anchors.set(file, new Set([...text.matchAll(/^#+ (.+)$/gm)].map((m) => slug(m[1]))));
    }
    return anchors.get(file)!;
  };
  for (const file of markdownFiles()) {
    const text = read(file).replace(/^```[\s\S]*?^```/gm, "");
    for (const [, target] of text.matchAll(/(?<!!)\[[^\]]*\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
      const [path, anchor] = target.split("#");
      const resolved = path ? new URL(path, new URL(file, root)) : new URL(file, root);
      const where = fileURLToPath(resolved).slice(fileURLToPath(root).length);
      assert.ok(existsSync(resolved), `${file}: link '${target}' leads to no file`);
      if (anchor !== undefined) {
        assert.ok(where.endsWith(".md"), `${file}: '${target}': an anchor in a file not Markdown`);
        assert.ok(anchorsOf(where).has(anchor), `${file}: link '${target}': no such heading`);
      }
    }
  }
});

/** The names of deno.json's tasks. */
const taskNames = () => new Set(Object.keys(JSON.parse(read("deno.json")).tasks));

/** Languages of the fenced blocks that hold shell commands. */
const SHELL = new Set(["sh", "bash", "shell", "console"]);

/** A command's text without leading `NAME=value` assignments. */
const withoutEnv = (command: string) => command.replace(/^(\w+=\S*\s+)*/, "");

/**
 * What a reader of `text` (the Markdown file `file`) could not run: a task that deno.json does not
 * have, named as `scripts/run.sh <task>` or `deno task <task>` in a shell block or an inline code
 * span; and a bare `deno task` or `deno run`, since a clone has Deno in node_modules/deno/deno and
 * not on the PATH: in a shell block any, inline a `deno task` or a `deno run` of one of the
 * repository's files (an inline `deno run quick_start.ts` is for a project of the reader's own,
 * with their own Deno). A placeholder such as `<task>` names no task.
 */
function commandProblems(file: string, text: string, tasks: Set<string>): string[] {
  const problems: string[] = [];
  const checkTasks = (where: string, command: string) => {
    for (const [, task] of command.matchAll(/(?:scripts\/run\.sh|\bdeno\s+task)\s+([^\s`'"]+)/g)) {
      // A placeholder, as in `scripts/run.sh <task>`, names no task.
      if (!task.startsWith("<") && !tasks.has(task)) {
        problems.push(`${where}: \`${command}\`: deno.json has no task '${task}'`);
      }
    }
  };
  const lines = text.split("\n");
  const prose = [...lines];
  let fence: string | null = null; // the language of the open fenced block, if any
  lines.forEach((line, i) => {
    const where = `${file}:${i + 1}`;
    const marker = line.match(/^\s*```\s*(\w*)/);
    if (marker || fence !== null) prose[i] = ""; // code blocks are not prose
    if (marker) {
      fence = fence === null ? marker[1] : null;
      return;
    }
    if (fence === null || !SHELL.has(fence)) return;
    const command = line.replace(/(^|\s)#.*$/, "").trim();
    checkTasks(where, command);
    for (const part of command.split(/&&|\|\||[;|]/)) {
      if (/^deno\s+(task|run)\b/.test(withoutEnv(part.trim()))) {
        problems.push(
          `${where}: \`${command}\`: a clone has no \`deno\` on the PATH: write ` +
            "`scripts/run.sh <task>` or `node_modules/deno/deno ...`",
        );
      }
    }
  });
  const joined = prose.join("\n");
  for (const span of joined.matchAll(/``([\s\S]+?)``|`([^`]+)`/g)) {
    const where = `${file}:${joined.slice(0, span.index).split("\n").length}`;
    const command = (span[1] ?? span[2]).replace(/\s+/g, " ").trim();
    checkTasks(where, command);
    const bare = withoutEnv(command).match(/^deno (task|run)\b(.*)$/);
    // A file in one of the repository's folders (scripts/, bench/...): not the reader's own
    // quick_start.ts, which the README has them save in the clone.
    const repoFile = bare?.[2].split(" ").some((arg) =>
      /^\w[\w.-]*\/[\w./-]+$/.test(arg) && existsSync(new URL(arg, root))
    );
    if (bare && (bare[1] === "task" || repoFile)) {
      problems.push(
        `${where}: \`${command}\`: a clone has no \`deno\` on the PATH: write ` +
          "`scripts/run.sh <task>` or `node_modules/deno/deno ...`",
      );
    }
  }
  return problems;
}

test("commands in README.md and docs/ name tasks that exist and run in a clone", () => {
  const tasks = taskNames();
  const problems = markdownFiles().flatMap((file) => commandProblems(file, read(file), tasks));
  assert.deepEqual(problems, [], problems.join("\n"));
  // The check itself: each kind of command it must refuse, and what it must let through.
  const sample = [
    "Run `scripts/run.sh web` or `deno task web`, `deno run -A scripts/web_screenshot.ts`, or",
    "`node_modules/deno/deno task bench:tables`; in your own project, `deno run quick_start.ts`.",
    "```sh",
    "scripts/run.sh no-such-task --quick   # a task deno.json lacks",
    "cd docs && deno task check",
    "WEBGPU_ADAGRAD_FUZZ=5 deno run -A scripts/test.ts",
    "node_modules/deno/deno run -A scripts/browser_tests.ts",
    "deno add jsr:@webgpu-adagrad/core",
    "```",
  ].join("\n");
  const found = commandProblems("sample.md", sample, tasks).map((p) => Number(p.split(":")[1]))
    .sort((a, b) => a - b);
  assert.deepEqual(
    found,
    [1, 1, 4, 5, 6],
    commandProblems("s", sample, tasks).join("\n"),
  );
});

test("the tarball README.md and docs/ install is the one scripts/run.sh pack makes", () => {
  const readme = read("README.md");
  const tarball = tarballName(JSON.parse(read("deno.json")).version);
  const block = namedBlock(readme, "install_tarball.sh", "README.md").code;
  for (
    const command of ["scripts/run.sh pack", `cp ${DIST}/${tarball} `, `npm install ./${tarball}`]
  ) {
    assert.ok(block.includes(command), `README.md's install_tarball.sh block: no '${command}'`);
  }
  // The Bun line, the comments and the other pages too: every tarball named is this version's.
  for (const file of markdownFiles()) {
    for (const [name] of read(file).matchAll(/webgpu-adagrad-[^\s`/]*\.tgz/g)) {
      if (name !== "webgpu-adagrad-<version>.tgz") {
        assert.equal(name, tarball, `${file} names a tarball of another version than deno.json's`);
      }
    }
  }
});

test(
  "README.md's deno.json for a project beside the clone runs the Quick start",
  { skip: denoOnly },
  () => {
    // The layout the block assumes: the project and the clone (here a link to it) side by side.
    const dir = mkdtempSync(join(tmpdir(), "webgpu-adagrad-project-"));
    try {
      symlinkSync(fileURLToPath(root), join(dir, "webgpu-adagrad"), "dir");
      mkdirSync(join(dir, "project"));
      const config = namedBlock(read("README.md"), "deno.json", "README.md").code;
      writeFileSync(join(dir, "project", "deno.json"), config);
      const quickStart = namedBlock(read("README.md"), "quick_start.ts", "README.md").code;
      writeFileSync(join(dir, "project", "quick_start.ts"), quickStart);
      const deno = (globalThis as unknown as { Deno: { execPath(): string } }).Deno.execPath();
      // As the README says: `deno run quick_start.ts` in the project, no flags.
      const result = spawnSync(deno, ["run", "--quiet", "quick_start.ts"], {
        cwd: join(dir, "project"),
        encoding: "utf8",
        timeout: 120_000,
      });
      assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
      assert.match(result.stdout, /step 100: loss .*\nw = Float32Array\(3\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
