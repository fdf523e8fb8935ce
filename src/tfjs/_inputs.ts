// Checking what TF.js callers hand TfjsAdagrad, before anything is uploaded or encoded.
import * as tf from "@tensorflow/tfjs-core";
import { IndexedSlices } from "../sparse/indexed_slices.ts";
import { describe } from "../_common/validate.ts";

/** A gradient as TfjsAdagrad accepts it. */
type Given = tf.Tensor | IndexedSlices | null | undefined;

/** `NamedTensorMap` or `NamedTensor[]` as `[{ name, gradient }]`, in the caller's order. */
export function namedGradients(
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
export function checkedGradient(
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

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * A learning rate from a config: a number, or a schedule as `{ class_name, config }`. TF.js's model
 * loader camel-cases every key of a saved config (`className`, `initialLearningRate`); this puts
 * Keras's keys back.
 */
export function pythonicSchedule(lr: unknown): unknown {
  if (typeof lr !== "object" || lr === null) return lr;
  const { className, class_name, config } = lr as Record<string, unknown>;
  const inner = typeof config === "object" && config !== null
    ? Object.fromEntries(
      Object.entries(config).map(([k, v]) => [k === "name" ? k : snake(k), v]),
    )
    : config;
  return { class_name: class_name ?? className, config: inner };
}
