/**
 * One report of every performance question, on whatever adapter this machine has (a GPU lent for
 * minutes, or lavapipe): correctness first, then the timings, each row a ratio from one process.
 *
 * 1. The float64 reference tests of every kernel shape, on this adapter: tests/_forced_shape.ts in
 *    a child `deno test` per shape (a GPU's, a fallback adapter's). Any failure ends the report
 *    there: a report from a kernel that computes wrong numbers is worthless.
 * 2. The rows, each section a child process of its own bench: the main bench with the family and
 *    dialect rows and the TF.js models (bench/bench.ts), split tables (bench/large_tables.ts), and
 *    the A/B rows of every choice made per adapter (bench/shape_ab.ts).
 *
 * Writes `bench/results/<adapter>-report.md` and the same data as `.json` (`.tmp` suffixes with
 * `--quick`), naming the adapter, its limits and features, the runtime and the date; progress on
 * the terminal. Needs nothing but the repository and its set-up (no network).
 *
 *     scripts/run.sh gpu-report [--quick]
 *
 * @module
 */
import process from "node:process";
import { mkdir, writeFile } from "node:fs/promises";

const quick = process.argv.includes("--quick");
const root = new URL("../", import.meta.url);
const started = performance.now();
const elapsed = () => (performance.now() - started) / 1000;
const progress = (line: string) => console.error(`[${elapsed().toFixed(0).padStart(4)} s] ${line}`);

const adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
if (!adapter) throw new Error("no WebGPU adapter (see README: scripts/setup.sh installs one)");
// Read while the adapter is alive (Deno 2.8.3 panics reading it later: src/device/_adapter_kind.ts).
const { vendor, architecture, device: deviceName, description } = adapter.info;
const fallback = (adapter.info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
const name = description || deviceName || vendor || "unknown adapter";
const limits: Record<string, number> = {};
for (const key in adapter.limits) {
  const value = (adapter.limits as unknown as Record<string, unknown>)[key];
  if (typeof value === "number") limits[key] = value;
}
const features = [...adapter.features].sort();
const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
progress(`adapter: ${name}${fallback ? " (fallback)" : ""}; ${quick ? "quick" : "full"} report`);

/** Runs `args` under this Deno in the repository root; its output, exit code and seconds. */
async function child(args: string[], env: Record<string, string> = {}) {
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: root,
    env: { ...env, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return {
    code: out.code,
    stdout: text(out.stdout),
    stderr: text(out.stderr),
    seconds: (performance.now() - t0) / 1000,
  };
}

interface Check {
  shape: string;
  passed: number;
  failed: number;
  ok: boolean;
  seconds: number;
}
const checks: Check[] = [];
for (const shape of ["gpu", "fallback"]) {
  progress(
    `correctness: the float64 reference tests with ${
      shape === "gpu" ? "a GPU's" : "a fallback adapter's"
    } shape forced`,
  );
  const r = await child(
    ["test", "-A", "--v8-flags=--expose-gc", "tests/_forced_shape.ts"],
    { WEBGPU_ADAGRAD_SHAPE: shape, WEBGPU_ADAGRAD_QUICK: quick ? "1" : "0" },
  );
  const summary = /(\d+) passed \| (\d+) failed/.exec(r.stdout + r.stderr);
  const passed = Number(summary?.[1] ?? 0);
  const failed = Number(summary?.[2] ?? 0);
  const ok = r.code === 0 && passed > 0 && failed === 0;
  checks.push({ shape, passed, failed, ok, seconds: r.seconds });
  progress(`  ${passed} passed, ${failed} failed (${r.seconds.toFixed(0)} s)`);
  if (!ok) {
    console.error(
      (r.stdout + r.stderr).split("\n").filter((l) => /FAILED|error/i.test(l)).slice(0, 30).join(
        "\n",
      ),
    );
  }
}

/** A Markdown table's rows as records of its header's columns. */
function tables(markdown: string): Record<string, string>[][] {
  const found: Record<string, string>[][] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!lines[i].startsWith("|") || !/^\|[\s:|-]+\|$/.test(lines[i + 1].trim())) continue;
    const cells = (l: string) => l.trim().slice(1, -1).split("|").map((c) => c.trim());
    const header = cells(lines[i]);
    const rows: Record<string, string>[] = [];
    for (i += 2; i < lines.length && lines[i].startsWith("|"); i++) {
      rows.push(Object.fromEntries(cells(lines[i]).map((c, k) => [header[k] ?? `${k}`, c])));
    }
    found.push(rows);
  }
  return found;
}

interface Section {
  title: string;
  command: string;
  seconds: number;
  ok: boolean;
  markdown: string;
  tables: Record<string, string>[][];
}
const SECTIONS: [string, string[]][] = [
  ["The main bench, the family and dialect rows, the TF.js models", [
    "bench/bench.ts",
    "--scratch",
  ]],
  ["Split tables (tables larger than one binding)", ["bench/large_tables.ts"]],
  ["A/B of every choice made per adapter", ["bench/shape_ab.ts"]],
];
const sections: Section[] = [];
const correct = checks.every((c) => c.ok);
if (correct) {
  for (const [title, script] of SECTIONS) {
    const args = ["run", "-A", "--v8-flags=--expose-gc", ...script, ...(quick ? ["--quick"] : [])];
    progress(`timing: ${title} (deno ${args.join(" ")})`);
    const r = await child(args);
    sections.push({
      title,
      command: `deno ${args.join(" ")}`,
      seconds: r.seconds,
      ok: r.code === 0,
      markdown: r.stdout.trim(),
      tables: tables(r.stdout),
    });
    progress(`  ${r.code === 0 ? "done" : `failed (exit ${r.code})`} in ${r.seconds.toFixed(0)} s`);
    if (r.code !== 0) console.error(r.stderr.split("\n").slice(-20).join("\n"));
  }
}

const date = new Date().toISOString();
const runtime =
  `Deno ${Deno.version.deno} (V8 ${Deno.version.v8}, TypeScript ${Deno.version.typescript})`;
const data = {
  adapter: { name, vendor, architecture, device: deviceName, description, fallback },
  limits,
  features,
  runtime,
  date,
  quick,
  cores: navigator.hardwareConcurrency,
  correctness: checks,
  sections,
  seconds: elapsed(),
};
const md = [
  `# ${quick ? "Quick report" : "Report"}: ${name}`,
  "",
  `- adapter: ${name} (vendor ${vendor || "-"}, architecture ${architecture || "-"}, device ${
    deviceName || "-"
  })${fallback ? ", a fallback (CPU) adapter" : ""}`,
  `- runtime: ${runtime}, ${navigator.hardwareConcurrency} CPU cores`,
  `- date: ${date}`,
  `- features: ${features.join(", ") || "none"}`,
  `- took ${elapsed().toFixed(0)} s${quick ? " (--quick: small sizes, few rounds)" : ""}`,
  "",
  "## Correctness (float64 reference tests, each shape forced)",
  "",
  "| shape | passed | failed | s |",
  "| --- | ---: | ---: | ---: |",
  ...checks.map((c) => `| ${c.shape} | ${c.passed} | ${c.failed} | ${c.seconds.toFixed(0)} |`),
  "",
  correct ? "Every shape computes what float64 does." : "**A shape failed: no timings taken.**",
  ...sections.flatMap((s) => [
    "",
    `## ${s.title}`,
    "",
    `\`${s.command}\`, ${s.seconds.toFixed(0)} s${s.ok ? "" : ", **failed**"}`,
    "",
    s.markdown,
  ]),
  "",
  "## Limits",
  "",
  "| limit | value |",
  "| --- | ---: |",
  ...Object.entries(limits).map(([k, v]) => `| ${k} | ${v} |`),
  "",
].join("\n");
const dir = new URL("results/", import.meta.url);
await mkdir(dir, { recursive: true });
const suffix = quick ? ".tmp" : "";
await writeFile(new URL(`${slug}-report.md${suffix}`, dir), md);
await writeFile(new URL(`${slug}-report.json${suffix}`, dir), JSON.stringify(data, null, 2) + "\n");
progress(`wrote bench/results/${slug}-report.md${suffix} and .json${suffix}`);
const failed = !correct || sections.some((s) => !s.ok);
process.exit(failed ? 1 : 0);
