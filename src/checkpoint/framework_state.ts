import { AdagradBase, ruleState } from "../optimizers/adagrad_base.ts";
import { describe } from "../_common/validate.ts";
import { decodeSafetensors, type SafetensorsEntry } from "./safetensors.ts";
import { Variable } from "../memory/variable.ts";

/**
 * What {@linkcode importFrameworkState} loads into.
 *
 * @example
 * ```ts ignore
 * const targets: FrameworkStateTargets = { optimizer: Adagrad.torch(), variables: [w, b] };
 * ```
 */
export interface FrameworkStateTargets {
  /** An optimizer of the Keras 3 or the PyTorch rule. */
  optimizer: AdagradBase<object>;
  /**
   * The variables, in the framework's order: PyTorch's parameter order (`state[i]` belongs to
   * `variables[i]`). For Keras 3 the order does not matter: each variable's name, `/` read as
   * `_`, is its Keras path (`dense/kernel` for `dense_kernel_accumulator`).
   */
  variables: readonly Variable[];
}

/**
 * Loads an optimizer's state that Keras 3 or PyTorch saved, exported to safetensors, into an
 * optimizer of the same rule: every tensor is checked first, then written (slots made as
 * needed). The keys are the framework's own:
 *
 * - Keras 3 (`{v.path: v.numpy() for v in optimizer.variables}`): `<opt>/iteration`, and per
 *   variable `<opt>/<path>_accumulator`, `_average` (use_ema), `_gradient_accumulator`
 *   (gradient_accumulation_steps), with `<path>` the variable's path, `/` as `_`;
 *   `<opt>/learning_rate` is read and ignored (the optimizer's own stays).
 * - PyTorch (`{f"state.{i}.{k}": t for i, s in opt.state_dict()["state"].items() for k, t in
 *   s.items()}`): `state.<i>.sum` and `state.<i>.step` for `variables[i]`.
 *
 * @example
 * ```ts ignore
 * const opt = Adagrad.torch({ lr: 0.01 });
 * importFrameworkState(await Deno.readFile("torch_adagrad.safetensors"), {
 *   optimizer: opt,
 *   variables: [fc1Weight, fc1Bias],
 * });
 * ```
 *
 * @throws {TypeError} for a Keras 2 optimizer, a missing or extra tensor, or a wrong shape
 */
export function importFrameworkState(bytes: Uint8Array, targets: FrameworkStateTargets): void {
  const fail = (why: string) => new TypeError(`importFrameworkState: ${why}`);
  const { optimizer, variables } = targets ?? {};
  if (!(optimizer instanceof AdagradBase) || !Array.isArray(variables)) {
    throw fail(`expected { optimizer, variables }, got ${describe(targets)}`);
  }
  for (const v of variables) {
    if (!(v instanceof Variable)) {
      throw fail(`variables must be store Variables, got ${describe(v)}`);
    }
  }
  const file = decodeSafetensors(bytes);
  const unclaimed = new Set(file.tensors.keys());
  const take = (name: string, shape: readonly number[]) => {
    const t = file.tensors.get(name);
    if (!t) throw fail(`no tensor '${name}'`);
    const size = shape.reduce((a, b) => a * b, 1);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== size) {
      throw fail(
        `tensor '${name}' has ${count} elements, the slot ${size} ([${shape.join(", ")}])`,
      );
    }
    unclaimed.delete(name);
    return t;
  };
  const writes: (() => void)[] = [];
  const state = ruleState(optimizer);
  if (optimizer.rule === "keras3") {
    const prefix = optimizer.name;
    const calls = integer(take(`${prefix}/iteration`, []), `${prefix}/iteration`, fail);
    unclaimed.delete(`${prefix}/learning_rate`);
    for (const v of variables) {
      const path = v.name.replaceAll("/", "_");
      for (const slot of optimizer.getSlotNames()) {
        const data = floats(take(`${prefix}/${path}_${slot}`, v.shape), fail);
        writes.push(() => optimizer.addSlot(v, slot).write(data));
      }
    }
    writes.push(() => state.calls = calls);
  } else if (optimizer.rule === "torch") {
    variables.forEach((v, i) => {
      const data = floats(take(`state.${i}.sum`, v.shape), fail);
      const step = integer(take(`state.${i}.step`, []), `state.${i}.step`, fail);
      writes.push(() => optimizer.addSlot(v, "sum").write(data), () => state.setStep(v, step));
    });
  } else {
    throw fail(
      `optimizer '${optimizer.name}' follows ${
        optimizer.rule === "keras2" ? "Keras 2's rule" : `TensorFlow's ${optimizer.rule} rule`
      }, which has no Keras 3 or PyTorch state to import; its checkpoints are this package's ` +
        `own (restoreCheckpoint)`,
    );
  }
  if (unclaimed.size > 0) {
    throw fail(`tensors nothing here claims: ${[...unclaimed].join(", ")}`);
  }
  for (const write of writes) write();
}

/** A float tensor's values as float32. */
function floats(t: SafetensorsEntry, fail: (why: string) => TypeError): Float32Array {
  const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (t.dtype === "F32") {
    return Float32Array.from({ length: n }, (_, i) => view.getFloat32(4 * i, true));
  }
  if (t.dtype === "F64") {
    return Float32Array.from({ length: n }, (_, i) => view.getFloat64(8 * i, true));
  }
  throw fail(`a slot must be F32 or F64, not ${t.dtype}`);
}

/** A scalar count (PyTorch's float step, Keras's integer iteration). */
function integer(t: SafetensorsEntry, name: string, fail: (why: string) => TypeError): number {
  const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const value = t.dtype === "I64"
    ? Number(view.getBigInt64(0, true))
    : t.dtype === "I32"
    ? view.getInt32(0, true)
    : t.dtype === "F32"
    ? view.getFloat32(0, true)
    : t.dtype === "F64"
    ? view.getFloat64(0, true)
    : NaN;
  if (!Number.isSafeInteger(value) || value < 0) {
    throw fail(`'${name}' must hold a non-negative integer, got ${value} (${t.dtype})`);
  }
  return value;
}
