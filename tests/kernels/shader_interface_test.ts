// The WGSL side of src/_kernels/shader_interface.ts: every struct the CPU writes or reads and every bind
// group, reflected from the generated shaders (wgsl_reflect) and compared with the TypeScript
// layouts, so that a field or binding changed on one side only fails here.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { StructInfo, VariableInfo, WgslReflect as Reflection } from "wgsl_reflect";
import * as embedded from "../../src/_kernels/shaders.ts";
import {
  BINDINGS,
  ENTRY_POINTS,
  ENTRY_TABLE,
  LR_TABLE,
  NORMS,
  SPARSE_ENTRY,
  SPARSE_TILE,
  SPARSE_TILE_TABLE,
  type StructLayout,
  STRUCTS,
  TILE,
  TILE_TABLE,
  VARIABLE_TABLE,
  VARIABLE_TILES,
} from "../../src/_kernels/shader_interface.ts";
import { exportName, isKernel, readShaderFiles } from "../../scripts/gen_shaders.ts";
import { repoRoot } from "../_repo.ts";

/**
 * Table headers, each followed by one runtime-sized array (of these element structs, or of
 * 4-byte scalars where null). Every other layout is a whole struct, its size `bytes`.
 */
const TABLES = new Map<StructLayout<string>, StructLayout<string> | null>([
  [TILE_TABLE, TILE],
  [SPARSE_TILE_TABLE, SPARSE_TILE],
  [ENTRY_TABLE, SPARSE_ENTRY],
  [VARIABLE_TABLE, VARIABLE_TILES],
  [NORMS, null],
  [LR_TABLE, null],
]);

/** Bindings of its table that an entry point does not use. */
const UNUSED: Readonly<Record<string, readonly number[]>> = {
  // The first stages need no step: they run every k up to the block size.
  "bitonic_sort.wgsl:sort_block": [0],
  // The radix sort's kernels share one bind group: the counts need no output buffer, the scan
  // only the counts.
  "radix_sort.wgsl:radix_histogram": [4],
  "radix_sort.wgsl:radix_scan": [1, 2, 4],
  // A rule's gradient sums: the row-wise kernel takes no rule that keeps them.
  "rowwise_adagrad.wgsl:rowwise_update": [8],
};

// wgsl_reflect 1.6.0's main file is CommonJS inside a "type": "module" package, which Node and
// Deno cannot link; its ES module build lies beside it, without types, hence the cast. A variable
// specifier keeps type checkers from looking for that file's declarations. (Its parser also takes
// `block` and `workgroup` for keywords, so the shaders use neither as a name.)
const REFLECT_MODULE = "wgsl_reflect/wgsl_reflect.module.js";

/** Every generated kernel's WGSL, by export name (the module's other exports are no WGSL). */
function kernels(): [string, string][] {
  return Object.entries(embedded).filter((e): e is [string, string] => typeof e[1] === "string");
}

function kernelSources(): string[] {
  return kernels().map(([, code]) => code);
}

/** Every generated kernel, reflected: export name -> reflection. */
async function reflectAll(): Promise<Map<string, Reflection>> {
  const { WgslReflect } = await import(REFLECT_MODULE) as { WgslReflect: typeof Reflection };
  return new Map(kernels().map(([name, code]) => [name, new WgslReflect(code)]));
}

/** The 4-byte scalars the CPU's layouts are made of. */
function isWord(member: StructInfo["members"][number]): boolean {
  const type = member.type;
  if (type.name === "atomic") return member.format?.name === "u32";
  return type.name === "u32" || type.name === "f32";
}

function checkStruct(layout: StructLayout<string>, struct: StructInfo, where: string): void {
  const at = `${layout.name} in ${where}`;
  const members = struct.members;
  const header = members.slice(0, layout.words);
  assert.deepEqual(header.map((m) => m.name), [...layout.fields], `${at}: fields`);
  header.forEach((m, i) => {
    assert.equal(m.offset, 4 * i, `${at}.${m.name}: offset`);
    assert.equal(m.size, 4, `${at}.${m.name}: size`);
    assert.ok(isWord(m), `${at}.${m.name}: ${m.type.getTypeName()} is no u32, f32 or atomic<u32>`);
  });
  if (!TABLES.has(layout)) {
    assert.equal(members.length, layout.words, `${at}: no more members`);
    assert.equal(struct.size, layout.bytes, `${at}: size`);
    return;
  }
  // A table: the header, then exactly one runtime-sized array at offset `bytes`.
  assert.equal(members.length, layout.words + 1, `${at}: one array after the header`);
  const array = members[layout.words];
  assert.ok(array.isArray && array.count === 0, `${at}.${array.name}: a runtime-sized array`);
  assert.equal(array.offset, layout.bytes, `${at}.${array.name}: offset`);
  const element = TABLES.get(layout);
  if (element) {
    assert.equal(array.format?.name, element.name, `${at}.${array.name}: element type`);
    assert.equal(array.stride, element.bytes, `${at}.${array.name}: stride`);
  } else {
    assert.equal(array.stride, 4, `${at}.${array.name}: stride`);
  }
}

test("every struct of src/_kernels/shader_interface.ts matches its WGSL declaration", async () => {
  const reflected = await reflectAll();
  for (const layout of STRUCTS) {
    let found = 0;
    for (const [shader, reflection] of reflected) {
      const struct = reflection.structs.find((s) => s.name === layout.name);
      if (!struct) continue;
      found++;
      checkStruct(layout, struct, shader);
    }
    assert.ok(found > 0, `struct ${layout.name} is in no shader`);
  }
});

/** WGSL's address space and access, as a WebGPU buffer binding type. */
function bindingType(resource: VariableInfo): GPUBufferBindingType {
  if (resource.resourceType === 0) return "uniform";
  assert.equal(resource.resourceType, 1, `${resource.name}: a buffer`);
  return resource.access === "read_write" ? "storage" : "read-only-storage";
}

test("every entry point uses exactly the bindings of src/_kernels/shader_interface.ts", async () => {
  const reflected = await reflectAll();
  for (const [table, entryPoints] of Object.entries(ENTRY_POINTS)) {
    const bindings: Record<number, GPUBufferBindingType> = BINDINGS[table as keyof typeof BINDINGS];
    for (const entryPoint of entryPoints) {
      const [file, name] = entryPoint.split(":");
      const entry = reflected.get(exportName(file))?.entry.compute.find((e) => e.name === name);
      assert.ok(entry, `${entryPoint}: no such entry point`);
      const used: Record<number, GPUBufferBindingType> = {};
      for (const resource of entry.resources) {
        assert.equal(resource.group, 0, `${entryPoint} ${resource.name}: group`);
        used[resource.binding] = bindingType(resource);
      }
      const expected = { ...bindings };
      for (const binding of UNUSED[entryPoint] ?? []) delete expected[binding];
      assert.deepEqual(used, expected, `${entryPoint}: the bindings of ${table}`);
    }
  }
});

test("each struct is declared in exactly one file of shaders/", async () => {
  const files = await readShaderFiles(new URL("shaders/", repoRoot()));
  assert.ok(files.some((f) => !isKernel(f.name)), "a shared file (_interface.wgsl)");
  const declaredIn = new Map<string, string[]>();
  for (const { name, text } of files) {
    for (const [, struct] of text.matchAll(/^\s*struct\s+(\w+)/gm)) {
      declaredIn.set(struct, [...declaredIn.get(struct) ?? [], name]);
    }
  }
  for (const layout of STRUCTS) assert.ok(declaredIn.has(layout.name), layout.name);
  for (const [struct, names] of declaredIn) assert.equal(names.length, 1, `${struct}: ${names}`);
});

test("the modes' names have the same values in TypeScript and in the WGSL consts", async () => {
  const { NormMode, LossScaleMode, RowDecayMode, Phase } = await import(
    "../../src/_kernels/specialisation.ts"
  );
  const { FormatMode } = await import("../../src/_common/number_format.ts");
  // Every enumeration the CPU passes as an override, with its WGSL consts' prefix. The rules'
  // numbers come from the generated module (what kernels.ts passes as RULE).
  const modes: Record<string, Readonly<Record<string, number>>> = {
    NORM: NormMode,
    LOSS_SCALE: LossScaleMode,
    ROW_DECAY: RowDecayMode,
    PHASE: Phase,
    FORMAT: FormatMode,
    RULE: embedded.RULE_KERNELS,
  };
  // The consts of the kernels as the GPU gets them.
  const consts = new Map<string, number>();
  for (const code of kernelSources()) {
    for (const [, name, value] of code.matchAll(/^const (\w+): u32 = (\d+)u;/gm)) {
      const seen = consts.get(name);
      assert.ok(seen === undefined || seen === Number(value), `${name} differs between kernels`);
      consts.set(name, Number(value));
    }
  }
  const snake = (key: string) => key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
  for (const [prefix, mode] of Object.entries(modes)) {
    const expected = Object.entries(mode).map(([key, value]) =>
      [`${prefix}_${snake(key)}`, value] as const
    );
    assert.ok(expected.length > 0, prefix);
    for (const [name, value] of expected) assert.equal(consts.get(name), value, name);
    // And no WGSL mode that TypeScript lacks.
    const wgsl = [...consts.keys()].filter((n) => n.startsWith(`${prefix}_`)).sort();
    const known = new Set<string>(expected.map(([name]) => name));
    const extra = wgsl.filter((n) =>
      !known.has(n) &&
      !Object.keys(modes).some((p) => p !== prefix && p.startsWith(prefix) && n.startsWith(`${p}_`))
    );
    assert.deepEqual(extra, [], `${prefix}_* consts TypeScript does not have`);
  }
});
