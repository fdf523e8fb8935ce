// `node:assert/strict` for the test files when they run in a browser page (scripts/_web_build.ts
// swaps it in): the assertions the tests use, with Node's strict semantics. Node's own module
// needs Node; npm's `assert` polyfill brings a dozen packages. assert_stand_in_test.ts (beside
// this file) checks that every case gives the same verdict here as in Node's module.

/** Thrown by a failed assertion, as Node's `AssertionError`. */
export class AssertionError extends Error {
  override name = "AssertionError";
  readonly code = "ERR_ASSERTION";
}

type Message = string | Error | undefined;

function fail(message: Message, fallback: string): never {
  if (message instanceof Error) throw message;
  throw new AssertionError(message ?? fallback);
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function") return `[Function ${value.name || "anonymous"}]`;
  if (ArrayBuffer.isView(value)) {
    const items = Array.from(value as unknown as ArrayLike<number>).slice(0, 8);
    return `${value.constructor.name}(${(value as Uint8Array).length ?? "?"}) [${items}...]`;
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

const isIndex = (k: string | symbol) => typeof k === "string" && /^(0|[1-9]\d*)$/.test(k);

/** Own enumerable keys; for arrays and typed arrays, those that are not indices. */
function ownKeys(o: object, skipIndices: boolean): (string | symbol)[] {
  return Reflect.ownKeys(o).filter((k) =>
    Object.prototype.propertyIsEnumerable.call(o, k) && !(skipIndices && isIndex(k))
  );
}

/** Node's isDeepStrictEqual for the values tests compare: primitives by Object.is, then shape. */
function deepStrict(a: unknown, b: unknown, seen = new Map<object, object>()): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (Object.prototype.toString.call(a) !== Object.prototype.toString.call(b)) return false;
  if (seen.get(a) === b) return true;
  seen.set(a, b);
  const indexed = Array.isArray(a) || (ArrayBuffer.isView(a) && !(a instanceof DataView));
  if (a instanceof Date) {
    if (!Object.is(a.getTime(), (b as Date).getTime())) return false;
  } else if (a instanceof RegExp) {
    if (String(a) !== String(b) || a.lastIndex !== (b as RegExp).lastIndex) return false;
  } else if (a instanceof Error) {
    if (a.message !== (b as Error).message || a.name !== (b as Error).name) return false;
  } else if (indexed) {
    const x = a as unknown as ArrayLike<unknown>, y = b as unknown as ArrayLike<unknown>;
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) {
      if ((i in x) !== (i in y) || !deepStrict(x[i], y[i], seen)) return false;
    }
  } else if (a instanceof ArrayBuffer) {
    const x = new Uint8Array(a), y = new Uint8Array(b as ArrayBuffer);
    if (x.length !== y.length || x.some((v, i) => v !== y[i])) return false;
  } else if (a instanceof Map) {
    const m = b as Map<unknown, unknown>;
    if (a.size !== m.size) return false;
    for (const [k, v] of a) if (!m.has(k) || !deepStrict(v, m.get(k), seen)) return false;
  } else if (a instanceof Set) {
    const s = b as Set<unknown>;
    if (a.size !== s.size) return false;
    for (const v of a) if (!s.has(v)) return false;
  }
  const ka = ownKeys(a, indexed), kb = ownKeys(b, indexed);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.propertyIsEnumerable.call(b, k)) return false;
    if (!deepStrict((a as Record<PropertyKey, unknown>)[k], (b as never)[k], seen)) return false;
  }
  return true;
}

type Expected =
  | RegExp
  | (new (...args: never[]) => unknown)
  | ((error: never) => boolean)
  | Record<string, unknown>;

/** Node's rules for `throws(fn, expected)`: a class, a RegExp, a validation function, an object. */
function check(error: unknown, expected: Expected | undefined, message: Message): void {
  if (expected === undefined) return;
  if (expected instanceof RegExp) {
    if (!expected.test(String(error))) {
      fail(message, `The error ${show(String(error))} does not match ${expected}`);
    }
    return;
  }
  if (typeof expected === "function") {
    if (expected.prototype !== undefined && error instanceof (expected as new () => unknown)) {
      return;
    }
    if (Object.prototype.isPrototypeOf.call(Error, expected) || expected === Error) {
      fail(message, `The error is not an instance of ${expected.name}: ${String(error)}`);
    }
    const verdict = (expected as (e: unknown) => unknown)(error);
    if (verdict !== true) fail(message, `The validation function rejected ${String(error)}`);
    return;
  }
  for (const [key, want] of Object.entries(expected)) {
    const got = (error as Record<string, unknown>)?.[key];
    const ok = want instanceof RegExp && typeof got === "string"
      ? want.test(got)
      : deepStrict(got, want);
    if (!ok) fail(message, `The error's ${key} ${show(got)} does not match ${show(want)}`);
  }
}

function splitArgs(expected?: Expected | string, message?: Message): [Expected?, Message?] {
  return typeof expected === "string" ? [undefined, expected] : [expected, message];
}

function ok(value: unknown, message?: Message): asserts value {
  if (!value) fail(message, `The expression evaluated to a falsy value: ${show(value)}`);
}

const assert = Object.assign(ok, {
  ok,
  AssertionError,
  equal(actual: unknown, expected: unknown, message?: Message): void {
    if (!Object.is(actual, expected)) {
      fail(message, `Expected values to be strictly equal: ${show(actual)} !== ${show(expected)}`);
    }
  },
  notEqual(actual: unknown, expected: unknown, message?: Message): void {
    if (Object.is(actual, expected)) {
      fail(message, `Expected "actual" to be strictly unequal to: ${show(expected)}`);
    }
  },
  deepEqual(actual: unknown, expected: unknown, message?: Message): void {
    if (!deepStrict(actual, expected)) {
      fail(
        message,
        `Expected values to be strictly deep-equal: ${show(actual)} vs ${show(expected)}`,
      );
    }
  },
  notDeepEqual(actual: unknown, expected: unknown, message?: Message): void {
    if (deepStrict(actual, expected)) {
      fail(message, `Expected "actual" not to be strictly deep-equal to: ${show(expected)}`);
    }
  },
  match(value: string, pattern: RegExp, message?: Message): void {
    if (typeof value !== "string" || !pattern.test(value)) {
      fail(message, `The input did not match the regular expression ${pattern}: ${show(value)}`);
    }
  },
  fail(message?: Message): never {
    return fail(message, "Failed");
  },
  throws(fn: () => unknown, expected?: Expected | string, message?: Message): void {
    const [want, text] = splitArgs(expected, message);
    try {
      fn();
    } catch (error) {
      check(error, want, text);
      return;
    }
    fail(text, "Missing expected exception.");
  },
  async rejects(
    promiseOrFn: Promise<unknown> | (() => Promise<unknown>),
    expected?: Expected | string,
    message?: Message,
  ): Promise<void> {
    const [want, text] = splitArgs(expected, message);
    // As in Node, a function that throws instead of returning a promise is not a rejection.
    const promise = typeof promiseOrFn === "function" ? promiseOrFn() : promiseOrFn;
    if (typeof (promise as Promise<unknown>)?.then !== "function") {
      throw new TypeError("rejects: expected a promise, or a function returning one");
    }
    try {
      await promise;
    } catch (error) {
      check(error, want, text);
      return;
    }
    fail(text, "Missing expected rejection.");
  },
});
assert.ok = ok;

export default assert;
export const strict = assert;
