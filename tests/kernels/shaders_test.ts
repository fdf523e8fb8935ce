// The generated module must hold exactly the assembled kernels, in the shape the generator writes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import * as embedded from "../../src/_kernels/shaders.ts";
import {
  assembleShaders,
  exportName,
  readShaderFiles,
  renderShaderModule,
} from "../../scripts/gen_shaders.ts";
import { repoRoot } from "../_repo.ts";

const root = repoRoot();

test("src/_kernels/shaders.ts is up to date with shaders/*.wgsl (run `deno task shaders`)", async () => {
  const files = await readShaderFiles(new URL("shaders/", root));
  const kernels = assembleShaders(files);
  assert.ok(kernels.length > 0);
  const exports = embedded as Record<string, unknown>;
  // Every kernel is embedded with the shared files it requires in front, and nothing else is,
  // beside the rules' numbers.
  for (const { name, text } of kernels) assert.equal(exports[exportName(name)], text, name);
  assert.deepEqual(
    Object.keys(exports).sort(),
    [...kernels.map((k) => exportName(k.name)), "RULE_KERNELS"].sort(),
  );
  const onDisk = await readFile(new URL("src/_kernels/shaders.ts", root), "utf8");
  assert.equal(onDisk, renderShaderModule(files), "src/_kernels/shaders.ts is stale");
});

test("every kernel, rule and specialisation compiles on this adapter, without messages", async () => {
  const { kernelsFor } = await import("../../src/_kernels/kernels.ts");
  const { PLAIN_SPECIALISATION, Phase, ruleKernel } = await import(
    "../../src/_kernels/specialisation.ts"
  );
  type Specialisation = import("../../src/_kernels/specialisation.ts").Specialisation;
  // Every pipeline of one specialisation (they compile on first use).
  const layouts = ["scalar", "vec4", "vec4_f16"] as const;
  const compileAll = (k: ReturnType<typeof kernelsFor>) => [
    ...layouts.map((l) => k.update(l)),
    k.sparseUpdate("element"),
    k.sparseUpdate("row"),
    ...layouts.map((l) => k.sumSquares(l)),
    ...layouts.map((l) => k.checkFinite(l)),
    k.widenF16,
    k.clipNorms,
    k.sparseKeys,
    k.sort("block"),
    k.sort("merge"),
    k.sort("step"),
    k.radix("histogram"),
    k.radix("scan"),
    k.radix("scatter"),
  ];
  const { withDevice } = await import("../_gpu.ts");
  await withDevice(async (device) => {
    const sources = Object.entries(embedded).filter((e): e is [string, string] =>
      typeof e[1] === "string"
    );
    for (const [name, code] of sources) {
      const info = await device.createShaderModule({ code }).getCompilationInfo();
      assert.deepEqual(info.messages.map((m) => `${m.type}: ${m.message}`), [], name);
    }
    device.pushErrorScope("validation");
    const guarded = kernelsFor(device, {
      ...PLAIN_SPECIALISATION,
      skipNonFinite: true,
      lossScale: 2,
    });
    [guarded.checkFinite("scalar"), guarded.finalize, guarded.lossScaleUpdate];
    assert.equal((await device.popErrorScope())?.message, undefined, "guard kernels");
    for (const epsilonInsideSqrt of [false, true]) {
      for (const clipValue of [false, true]) {
        for (const normMode of [0, 1, 2] as const) {
          for (const skipNonFinite of [false, true]) {
            for (const lossScale of [0, 1, 2] as const) {
              const spec = {
                ...PLAIN_SPECIALISATION,
                epsilonInsideSqrt,
                clipValue,
                normMode,
                skipNonFinite,
                lossScale,
              };
              device.pushErrorScope("validation");
              compileAll(kernelsFor(device, spec));
              const error = await device.popErrorScope();
              assert.equal(error?.message, undefined, JSON.stringify(spec));
            }
          }
        }
      }
    }
    // Every registered rule, with each option the kernels are specialised on turned on in turn
    // (from the rule's own specialisation: a new rule is compiled here by being registered),
    // each accumulation phase, and the reductions over a prepared mean.
    const { REGISTRY } = await import("../../src/optimizers/registry.ts");
    const { kernelSpecialisation } = await import("../../src/rules/rule.ts");
    const toggles: Partial<Specialisation>[] = [
      {},
      { ema: true },
      { accumulate: true },
      { accumulate: true, ema: true, normMode: 1 },
      { epsilonInsideSqrt: true },
      { clipValue: true },
      { skipNonFinite: true },
      { normMode: 1 },
      { normMode: 2 },
      { lossScale: 1 },
      { lossScale: 2 },
      { rowDecay: 1 },
      { rowDecay: 2, maxNorm: true },
    ];
    let compiled = 0;
    for (const entry of REGISTRY) {
      const rule = entry.rule;
      const resolved = (() => {
        try {
          return rule.resolve({});
        } catch {
          return rule.resolve({ learningRate: 0.1 });
        }
      })();
      const base = kernelSpecialisation(rule, resolved);
      assert.equal(base.rule, ruleKernel(rule.kernel), rule.id);
      for (const toggle of toggles) {
        const spec = { ...base, ...toggle };
        device.pushErrorScope("validation");
        const k = kernelsFor(device, spec);
        compileAll(k);
        if (spec.accumulate) {
          for (const phase of Object.values(Phase)) layouts.map((l) => k.update(l, phase));
          layouts.map((l) => k.sumSquares(l, true));
        }
        const error = await device.popErrorScope();
        assert.equal(error?.message, undefined, `${rule.id}: ${JSON.stringify(spec)}`);
        compiled++;
      }
    }
    assert.equal(compiled, REGISTRY.length * toggles.length);
  });
});
