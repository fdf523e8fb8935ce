// Replacing a method of a WebGPU object for a while, for the helpers that watch what code does on
// a device (tests/_gpu.ts tracks buffers, _counting.ts beside this file counts calls). The
// replacement is an own property shadowing the prototype's method; undoing it puts back exactly
// what was there before, an earlier replacement included, so that such wrappers nest.

// deno-lint-ignore no-explicit-any
type Method = (...args: any[]) => any;

/**
 * Sets `object[name]` to `wrap(original)`, where `original` is the current method bound to
 * `object`. Returns the undo; undo nested replacements in reverse order.
 */
export function patch<O extends object, K extends keyof O>(
  object: O,
  name: K,
  wrap: (original: O[K] & Method) => O[K],
): () => void {
  const before = Object.getOwnPropertyDescriptor(object, name);
  const original = (object[name] as Method).bind(object) as O[K] & Method;
  object[name] = wrap(original);
  return () => {
    if (before) Object.defineProperty(object, name, before);
    else delete object[name];
  };
}
