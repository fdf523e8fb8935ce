// TF.js's own types, under names of this package, each marked @ignore. Deno 2.8.3's
// `deno doc --lint` reports every reference to a type from node_modules as a private type
// (denoland/deno#27364), and TF.js's types are TF.js's to document: the public API names these.
import * as tf from "@tensorflow/tfjs-core";

/**
 * The type of TF.js's `tf.Optimizer` class.
 *
 * @ignore
 */
export type TfjsOptimizerClass = typeof tf.Optimizer;

/**
 * TF.js's `tf.Optimizer` class itself, the base class of {@linkcode TfjsAdagrad}.
 *
 * @ignore
 */
export const TfjsOptimizerBase: TfjsOptimizerClass = tf.Optimizer;

/**
 * TF.js's `tf.Tensor`.
 *
 * @ignore
 */
export type TfjsTensor = tf.Tensor;

/**
 * TF.js's `tf.serialization.ConfigDict`.
 *
 * @ignore
 */
export type TfjsConfig = tf.serialization.ConfigDict;

/**
 * TF.js's `tf.serialization.Serializable`.
 *
 * @ignore
 */
export type TfjsSerializable = tf.serialization.Serializable;

/**
 * TF.js's `tf.serialization.SerializableConstructor<T>`.
 *
 * @ignore
 */
export type TfjsSerializableConstructor<T extends TfjsSerializable> =
  tf.serialization.SerializableConstructor<T>;
