// The work behind two of Keras 3's optimizer methods, kept out of the optimizer class:
// exclude_from_weight_decay's matching and finalize_variable_values's copies.
import type { ExternalRef } from "../_step/external_ref.ts";
import { externalRef } from "../_step/plan.ts";
import type { BufferRegion } from "../memory/buffer_region.ts";
import type { VariableRef } from "../memory/gpu_binding.ts";
import { Variable } from "../memory/variable.ts";
import { describe } from "../_common/validate.ts";

/** Keras 3's exclusions from weight decay: variables by identity, and a name pattern. */
export interface Exclusions {
  variables: Set<Variable>;
  external: ExternalRef[];
  names: RegExp | null;
}

/** Checks `exclude_from_weight_decay`'s arguments. */
export function parseExclusions(arg: unknown): Exclusions {
  if (typeof arg !== "object" || arg === null) {
    throw new TypeError(
      `excludeFromWeightDecay: expected { varList?, varNames? }, got ${describe(arg)}`,
    );
  }
  const { varList = [], varNames = [], ...rest } = arg as {
    varList?: unknown;
    varNames?: unknown;
  };
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    throw new TypeError(`excludeFromWeightDecay: unknown key '${unknown[0]}'`);
  }
  if (!Array.isArray(varList)) {
    throw new TypeError(
      `excludeFromWeightDecay: varList must be an array, got ${describe(varList)}`,
    );
  }
  if (!Array.isArray(varNames) || varNames.some((n) => typeof n !== "string")) {
    throw new TypeError(
      `excludeFromWeightDecay: varNames must be an array of strings, got ${describe(varNames)}`,
    );
  }
  const variables = new Set<Variable>();
  const external: ExternalRef[] = [];
  for (const v of varList as VariableRef[]) {
    if (v instanceof Variable) variables.add(v);
    else external.push(externalRef(v, "excludeFromWeightDecay"));
  }
  // Keras: re.compile("|".join(set(var_names))), searched anywhere in the name.
  const names = varNames.length > 0 ? new RegExp([...new Set(varNames)].join("|")) : null;
  return { variables, external, names };
}

/** Whether `variable` is excluded from weight decay. */
export function excluded(e: Exclusions, variable: Variable | ExternalRef): boolean {
  if (variable instanceof Variable) {
    if (e.variables.has(variable)) return true;
  } else if (
    e.external.some((r) =>
      r.buffer === variable.buffer && r.offset === variable.offset &&
      r.byteLength === variable.byteLength
    )
  ) {
    return true;
  }
  return e.names !== null && e.names.test(variable.name);
}

/** Copies each average over its variable, in one command buffer. */
export function finalizeWithAverages(
  device: GPUDevice,
  copies: readonly { average: BufferRegion; variable: Variable | ExternalRef }[],
): void {
  const encoder = device.createCommandEncoder({ label: "webgpu-adagrad finalize_variable_values" });
  for (const { average, variable } of copies) {
    encoder.copyBufferToBuffer(
      average.buffer,
      average.offset,
      variable.buffer,
      variable.offset,
      variable.byteLength,
    );
  }
  device.queue.submit([encoder.finish()]);
}
