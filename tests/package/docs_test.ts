// The documentation as a reader meets it: README.md's Quick start and the guide's examples run as
// written (each a `deno run` process of its own, with no permissions, as the README says to run
// them), the README keeps its shape, images are absolute links to the repository's raw files, and
// relative links lead to files and headings that exist.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type DocBlock, namedBlock } from "../../scripts/_doc_blocks.ts";
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
