// Deno entry point: every test file in one isolate. `deno test` would otherwise give each file
// its own isolate, and Deno's WebGPU corrupts its heap once a handful of isolates have used a
// device (see README, "Why one isolate"). Node and Bun run the *_test.ts files directly.
import "./browser_assert_test.ts";
import "./checkpoint_file_test.ts";
import "./checkpoint_stream_test.ts";
import "./checkpoint_test.ts";
import "./clipping_test.ts";
import "./dealt_tiles_test.ts";
import "./demo_test.ts";
import "./dense_reference_test.ts";
import "./docs_test.ts";
import "./error_scope_test.ts";
import "./errors_test.ts";
import "./float16_test.ts";
import "./import_cycles_test.ts";
import "./install_gpu_test.ts";
import "./keras_vectors_test.ts";
import "./layout_test.ts";
import "./learning_rate_test.ts";
import "./loss_scale_test.ts";
import "./non_zero_rows_test.ts";
import "./optimizer_surface_test.ts";
import "./proximal_fuzz_test.ts";
import "./proximal_reference_test.ts";
import "./proximal_refusals_test.ts";
import "./proximal_vectors_test.ts";
import "./quiet_warnings_test.ts";
import "./radix_sort_test.ts";
import "./region_binding_test.ts";
import "./reliability_test.ts";
import "./refusals_test.ts";
import "./request_device_test.ts";
import "./row_wise_test.ts";
import "./rule_refusals_test.ts";
import "./rule_state_test.ts";
import "./rule_vectors_test.ts";
import "./rules_fuzz_test.ts";
import "./rules_reference_test.ts";
import "./runtimes_test.ts";
import "./schedules_test.ts";
import "./shader_interface_test.ts";
import "./shaders_test.ts";
import "./sharding_test.ts";
import "./sparse_test.ts";
import "./split_variable_test.ts";
import "./step_cost_test.ts";
import "./test_report_test.ts";
import "./tile_size_test.ts";
import "./tfjs_options_test.ts";
import "./tfjs_test.ts";
import "./variable_store_test.ts";
import "./web_settings_test.ts";
import "./zero_grads_test.ts";

import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";

test("tests/all.ts imports every *_test.ts file", async () => {
  const here = new URL("./", import.meta.url);
  const files = (await readdir(here)).filter((f) => f.endsWith("_test.ts")).sort();
  const source = await readFile(new URL("all.ts", here), "utf8");
  const imported = [...source.matchAll(/^import "\.\/(\w+_test\.ts)";$/gm)].map((m) => m[1]).sort();
  assert.deepEqual(imported, files);
});
