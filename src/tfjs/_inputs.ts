// Checking what TF.js callers hand TfjsAdagrad, before anything is uploaded or encoded.
import * as tf from "@tensorflow/tfjs-core";
import { IndexedSlices } from "../sparse/indexed_slices.ts";
import { describe } from "../_common/validate.ts";
import { ownerOf, type WebGpuBackend } from "./_backend.ts";

/** A gradient as TfjsAdagrad accepts it. */
type Given = tf.Tensor | IndexedSlices | null | undefined;

/** A variable named in a call, with its gradient, checked. */
export interface Step {
  name: string;
  variable: tf.Variable;
  gradient: tf.Tensor | IndexedSlices | null;
}

/**
 * Every named gradient with its variable, in the caller's order, all checked: the variable is
 * TF.js's registered variable of that name, float32, and the gradient a float32 tensor of its
 * shape, IndexedSlices or none, both on `backend`. `given` are the steps with a gradient.
 *
 * @throws {TypeError} for an unknown variable, one on another backend or device, a bad gradient
 * @throws {RangeError} when every gradient is missing
 */
export function checkedSteps(
  backend: WebGpuBackend,
  variableGradients: Record<string, Given> | readonly { name: string; tensor: Given }[],
): { steps: Step[]; given: Step[] } {
  const steps = namedGradients(variableGradients).map(({ name, gradient }) => {
    const variable = tf.engine().registeredVariables[name];
    if (variable === undefined) {
      throw new TypeError(`TfjsAdagrad: no TF.js variable is named '${name}'`);
    }
    checkOwner(backend, variable, `variable '${name}'`);
    if (variable.dtype !== "float32") {
      throw new TypeError(`TfjsAdagrad: variable '${name}' is ${variable.dtype}; float32 only`);
    }
    const checked = checkedGradient(gradient, variable);
    if (checked instanceof tf.Tensor) checkOwner(backend, checked, `gradient of '${name}'`);
    return { name, variable, gradient: checked };
  });
  const given = steps.filter((s) => s.gradient != null);
  if (given.length === 0 && steps.length > 0) {
    throw new RangeError(
      `No gradients provided for any variable: [${steps.map((s) => `'${s.name}'`).join(", ")}].`,
    );
  }
  return { steps, given };
}

/** `NamedTensorMap` or `NamedTensor[]` as `[{ name, gradient }]`, in the caller's order. */
function namedGradients(
  given: Record<string, Given> | readonly { name: string; tensor: Given }[],
): { name: string; gradient: Given }[] {
  if (Array.isArray(given)) {
    return given.map((item, i) => {
      if (typeof item !== "object" || item === null || typeof item.name !== "string") {
        throw new TypeError(
          `TfjsAdagrad.applyGradients: item ${i} is not a { name, tensor } NamedTensor: ` +
            describe(item),
        );
      }
      return { name: item.name, gradient: item.tensor };
    });
  }
  if (typeof given !== "object" || given === null) {
    throw new TypeError(
      `TfjsAdagrad.applyGradients: expected a NamedTensorMap or a NamedTensor[], got ` +
        describe(given),
    );
  }
  return Object.entries(given).map(([name, gradient]) => ({ name, gradient }));
}

/** The gradient of `variable`, checked: a float32 tensor of its shape, IndexedSlices, or null. */
function checkedGradient(
  gradient: unknown,
  variable: tf.Variable,
): tf.Tensor | IndexedSlices | null {
  if (gradient === null || gradient === undefined) return null;
  if (gradient instanceof IndexedSlices) return gradient;
  if (!(gradient instanceof tf.Tensor)) {
    throw new TypeError(
      `TfjsAdagrad: the gradient of '${variable.name}' must be a tf.Tensor or an IndexedSlices, ` +
        `got ${describe(gradient)}`,
    );
  }
  if (gradient.isDisposed) {
    throw new TypeError(`TfjsAdagrad: the gradient of '${variable.name}' was disposed`);
  }
  if (gradient.dtype !== "float32") {
    throw new TypeError(
      `TfjsAdagrad: the gradient of '${variable.name}' is ${gradient.dtype}; float32 only ` +
        `(cast it with tf.cast(g, "float32"))`,
    );
  }
  if (!tf.util.arraysEqual(gradient.shape, variable.shape)) {
    throw new TypeError(
      `TfjsAdagrad: the gradient of '${variable.name}' has shape [${gradient.shape}], the ` +
        `variable [${variable.shape}]`,
    );
  }
  return gradient;
}

/** Throws a TypeError, saying how to fix it, unless `t` lives on `backend`. */
function checkOwner(backend: WebGpuBackend, t: tf.Tensor, what: string): void {
  const owner = ownerOf(t);
  if (owner.backend === backend) return;
  const device = (owner.backend as { device?: unknown } | undefined)?.device;
  throw new TypeError(
    device !== undefined
      ? `TfjsAdagrad: ${what} lives on another GPUDevice (TF.js backend '${owner.name}'); ` +
        `create the model on the backend you train on, or put TF.js on one device with ` +
        `useDeviceForTfjs(device)`
      : `TfjsAdagrad: ${what} lives on TF.js's '${owner.name}' backend, not on the active ` +
        `WebGPU backend; create the model after \`await tf.setBackend("webgpu")\``,
  );
}
