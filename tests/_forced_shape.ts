// The float64 reference tests of the kernels with one dispatch shape forced, for
// `scripts/run.sh gpu-report` (bench/gpu_report.ts), which runs this file with `deno test` once per
// shape before it times anything: WEBGPU_ADAGRAD_SHAPE names the shape ("gpu" or "fallback", the
// two adapters' shapes of src/_kernels/kernels.ts), WEBGPU_ADAGRAD_QUICK=1 takes the short list.
// Not a *_test.ts: the suite (tests/all.ts) forces shapes in its own tests.
import process from "node:process";
import { FALLBACK_SHAPE, GPU_SHAPE, setDispatchShape } from "../src/_kernels/kernels.ts";

/** The shapes the report checks, by name. */
export const FORCED_SHAPES = { gpu: GPU_SHAPE, fallback: FALLBACK_SHAPE } as const;

/**
 * Test files whose every kernel (dense, sparse, row-wise, split tables) runs under the forced
 * shape; the quick list covers each kernel once. tile_size_test.ts is not one: it checks the
 * adapter's default shape, and forces every shape itself.
 */
export const FORCED_TESTS = {
  quick: ["./rules/row_wise_test.ts", "./kernels/gpu_shapes_test.ts"],
  full: [
    "./rules/row_wise_test.ts",
    "./rules/proximal_reference_test.ts",
    "./step/dense_reference_test.ts",
    "./step/sparse_test.ts",
    "./memory/split_variable_test.ts",
    "./kernels/gpu_shapes_test.ts",
  ],
};

const name = process.env.WEBGPU_ADAGRAD_SHAPE;
if (name !== undefined) {
  if (!(name in FORCED_SHAPES)) {
    throw new Error(`WEBGPU_ADAGRAD_SHAPE: "gpu" or "fallback", not "${name}"`);
  }
  setDispatchShape(FORCED_SHAPES[name as keyof typeof FORCED_SHAPES]);
  const list = process.env.WEBGPU_ADAGRAD_QUICK === "1" ? FORCED_TESTS.quick : FORCED_TESTS.full;
  for (const file of list) await import(file);
}
