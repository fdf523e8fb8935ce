// The test files the in-page suite (in_page.ts) leaves out, each with the reason. Every other
// *_test.ts under tests/ is imported by in_page.ts; tests/package/test_lists_test.ts fails on a
// test file that is in neither list, so a new test is run in the page or left out on purpose.
// "Not chosen for the page" means that nothing in it needs Node: it could join the page.

/** Test file (from the repository root) -> why the page does not run it. */
export const NOT_IN_PAGE: Record<string, string> = {
  "tests/browser/assert_stand_in_test.ts":
    "compares the stand-in with Node's own node:assert/strict, which a page has not",
  "tests/checkpoint/atomic_save_test.ts": "spawns Deno, and kills it while it writes a file",
  "tests/checkpoint/checkpoint_damage_test.ts":
    "cuts and rewrites checkpoint files (node:fs, node:os) for the streamed readers",
  "tests/checkpoint/checkpoint_stream_test.ts":
    "streams checkpoints through files (node:fs, node:os); checkpoint_file_test.ts covers the page",
  "tests/checkpoint/non_zero_rows_test.ts": "not chosen for the page (ProximalAdagrad's weights)",
  "tests/device/install_gpu_test.ts":
    "installGpu is webgpu-adagrad/node's, for Node and Bun; a page has navigator.gpu",
  "tests/kernels/dealt_tiles_test.ts": "not chosen for the page (the tile table's arithmetic)",
  "tests/kernels/gpu_shapes_test.ts": "not chosen for the page (each dispatch shape forced)",
  "tests/kernels/radix_sort_test.ts": "not chosen for the page (steps of 200,000 indices)",
  "tests/kernels/shader_interface_test.ts":
    "reads shaders/ from the repository and reflects it with wgsl_reflect from node_modules",
  "tests/kernels/shaders_test.ts": "reads shaders/ and src/_kernels/shaders.ts from the repository",
  "tests/kernels/tile_size_test.ts": "not chosen for the page (each dispatch shape forced)",
  "tests/memory/sharding_test.ts": "not chosen for the page (docs/sharding.md's claim)",
  "tests/memory/split_variable_test.ts":
    "writes checkpoint files (node:fs, node:os) and fills a table past 128 MiB",
  "tests/package/demo_test.ts":
    "spawns Deno for the CLI demo and reads the corpus from node_modules",
  "tests/package/docs_test.ts": "spawns Deno for the documentation's blocks, reads the repository",
  "tests/package/import_cycles_test.ts": "reads src/ from the repository",
  "tests/package/runtimes_test.ts": "spawns Node and Bun",
  "tests/package/test_lists_test.ts": "reads tests/ from the repository",
  "tests/package/test_report_test.ts":
    "checks scripts/_test_report.ts, the test command's reading of Deno's, Bun's and Node's reports",
  "tests/package/web_settings_test.ts":
    "not chosen for the page (the training page's settings; the browser tests load that page)",
  "tests/rules/keras3_torch_fuzz_test.ts":
    "reads WEBGPU_ADAGRAD_FUZZ from node:process, which the page's bundle does not stand in for",
  "tests/rules/keras_fuzz_test.ts":
    "reads WEBGPU_ADAGRAD_FUZZ from node:process, which the page's bundle does not stand in for",
  "tests/rules/proximal_fuzz_test.ts":
    "reads WEBGPU_ADAGRAD_FUZZ from node:process, which the page's bundle does not stand in for",
  "tests/rules/optax_goldens_test.ts":
    "reads optax's numbers from tests/rules/optax_adagrad_goldens.json in the repository (node:fs)",
  "tests/rules/proximal_reference_test.ts": "not chosen for the page (the proximal family)",
  "tests/rules/proximal_refusals_test.ts": "not chosen for the page (the proximal family)",
  "tests/rules/proximal_vectors_test.ts": "not chosen for the page (the proximal family)",
  "tests/step/skip_non_finite_test.ts":
    "not chosen for the page (40 steps of 24,000 indices and 70,001 elements, twice)",
  "tests/step/soak_test.ts": "weighs the heap with node:process's memoryUsage over 10,000 steps",
  "tests/step/step_outcome_test.ts":
    "not chosen for the page (what each optimizer's step promises and refuses)",
};
