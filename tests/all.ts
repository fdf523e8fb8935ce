// Deno entry point: every test file in one isolate. `deno test` would otherwise give each file
// its own isolate, and Deno's WebGPU corrupts its heap once a handful of isolates have used a
// device (docs/development.md, "Why Deno 2.8.3, and why the Deno tests run in one isolate"). Node
// and Bun run the *_test.ts files directly. tests/package/test_lists_test.ts checks that this list
// names every *_test.ts under tests/ and nothing else.
import "./browser/assert_stand_in_test.ts";
import "./checkpoint/checkpoint_file_test.ts";
import "./checkpoint/checkpoint_stream_test.ts";
import "./checkpoint/checkpoint_test.ts";
import "./checkpoint/non_zero_rows_test.ts";
import "./device/device_loss_test.ts";
import "./device/install_gpu_test.ts";
import "./device/request_device_test.ts";
import "./kernels/dealt_tiles_test.ts";
import "./kernels/radix_sort_test.ts";
import "./kernels/region_binding_test.ts";
import "./kernels/shader_interface_test.ts";
import "./kernels/shaders_test.ts";
import "./kernels/tile_size_test.ts";
import "./memory/layout_test.ts";
import "./memory/sharding_test.ts";
import "./memory/split_variable_test.ts";
import "./memory/variable_store_test.ts";
import "./optimizer/bad_input_test.ts";
import "./optimizer/learning_rate_test.ts";
import "./optimizer/optimizer_surface_test.ts";
import "./optimizer/schedules_test.ts";
import "./package/demo_test.ts";
import "./package/docs_test.ts";
import "./package/import_cycles_test.ts";
import "./package/runtimes_test.ts";
import "./package/test_lists_test.ts";
import "./package/web_settings_test.ts";
import "./rules/keras3_torch_fuzz_test.ts";
import "./rules/keras3_torch_reference_test.ts";
import "./rules/keras3_torch_refusals_test.ts";
import "./rules/keras3_torch_vectors_test.ts";
import "./rules/keras_fuzz_test.ts";
import "./rules/keras_vectors_test.ts";
import "./rules/proximal_fuzz_test.ts";
import "./rules/proximal_reference_test.ts";
import "./rules/proximal_refusals_test.ts";
import "./rules/proximal_vectors_test.ts";
import "./rules/row_wise_test.ts";
import "./rules/rule_state_test.ts";
import "./step/clipping_test.ts";
import "./step/dense_reference_test.ts";
import "./step/error_scope_test.ts";
import "./step/float16_test.ts";
import "./step/loss_scale_test.ts";
import "./step/sparse_test.ts";
import "./step/step_cost_test.ts";
import "./step/step_outcome_test.ts";
import "./step/zero_grads_test.ts";
import "./tfjs/tfjs_options_test.ts";
import "./tfjs/tfjs_test.ts";
