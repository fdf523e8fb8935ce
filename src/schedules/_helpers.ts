// The schedules' argument tables, shared checks and float32 rounding (Keras computes a schedule in
// float32 for a Python-float initial learning rate).
import { describe, finiteNumber } from "../_common/validate.ts";

/** Rounds to float32, as Keras computes the schedules. */
export const f = Math.fround;

/** Checks one argument (`key`, Keras's name for it, goes in the error message); returns it. */
export type Check = (value: unknown, key: string) => unknown;

/**
 * One of a schedule's Keras constructor arguments: its snake_case key (the property is the same
 * name in camelCase), its check, and, for an optional argument, its default. A schedule lists
 * them in Keras's order; its constructor, `getConfig()` and deserialization all follow from that.
 */
export type KerasArg = readonly [key: string, check: Check, fallback?: unknown];

export function positive(x: unknown, what: string): number {
  const v = finiteNumber(x, what);
  if (v <= 0) throw new RangeError(`${what} must be positive, got ${v}`);
  return v;
}

function optionalName(name: unknown): string | null {
  if (name === undefined || name === null) return null;
  if (typeof name !== "string") throw new TypeError(`name must be a string, got ${describe(name)}`);
  return name;
}

/** Keras's `name=None`, the last argument of every schedule. */
export const NAME: KerasArg = ["name", optionalName, null];

export function checkedStep(step: number): number {
  return f(finiteNumber(step, "step"));
}

/** The property that holds a Keras argument: `first_decay_steps` -> `firstDecaySteps`. */
export function propertyOf(key: string): string {
  return key.replace(/_(.)/g, (_, c: string) => c.toUpperCase());
}

/** The default of an optional argument when `value` is missing; anything else as it is. */
export function orDefault([, , ...fallback]: KerasArg, value: unknown): unknown {
  return value === undefined && fallback.length > 0 ? fallback[0] : value;
}

/**
 * The constructor's arguments for a Keras config: as in Keras's `from_config`, a missing or
 * `null` optional key takes its default; a required one goes to its check as it is.
 */
export function argumentsFrom(
  args: readonly KerasArg[],
  config: Record<string, unknown>,
): unknown[] {
  return args.map(([key, , ...fallback]) =>
    fallback.length > 0 ? config[key] ?? fallback[0] : config[key]
  );
}
