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
  const exports = embedded as Record<string, string>;
  // Every kernel is embedded with the shared files it requires in front, and nothing else is.
  for (const { name, text } of kernels) assert.equal(exports[exportName(name)], text, name);
  assert.deepEqual(Object.keys(exports).sort(), kernels.map((k) => exportName(k.name)).sort());
  const onDisk = await readFile(new URL("src/_kernels/shaders.ts", root), "utf8");
  assert.equal(onDisk, renderShaderModule(files), "src/_kernels/shaders.ts is stale");
});

test("every kernel and specialisation compiles on this adapter, without messages", async () => {
  const { kernelsFor } = await import("../../src/_kernels/kernels.ts");
  const { PLAIN_SPECIALISATION, Phase, RuleMode } = await import(
    "../../src/_kernels/specialisation.ts"
  );
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
  ];
  const { withDevice } = await import("../_gpu.ts");
  await withDevice(async (device) => {
    for (const [name, code] of Object.entries(embedded as Record<string, string>)) {
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
    // The other rules with every option of theirs, each accumulation phase, and the reductions
    // over a prepared mean.
    const rules = [
      { rule: RuleMode.keras3, epsilonInsideSqrt: true, weightDecay: true, ema: true },
      { rule: RuleMode.keras3, epsilonInsideSqrt: true, accumulate: true, normMode: 1 as const },
      {
        rule: RuleMode.keras3,
        epsilonInsideSqrt: true,
        ema: true,
        accumulate: true,
        lossScale: 1 as const,
      },
      { rule: RuleMode.torch, weightDecay: true, maximize: true },
    ];
    for (const options of rules) {
      const spec = { ...PLAIN_SPECIALISATION, ...options };
      device.pushErrorScope("validation");
      const k = kernelsFor(device, spec);
      compileAll(k);
      for (const phase of Object.values(Phase)) layouts.map((l) => k.update(l, phase));
      layouts.map((l) => k.sumSquares(l, true));
      const error = await device.popErrorScope();
      assert.equal(error?.message, undefined, JSON.stringify(spec));
    }
  });
});
