// `node:test` for the test files when they run in a browser page (scripts/_web_build.ts swaps it
// in): `test(name, options?, fn)` registers the test; tests/browser/in_page.ts runs them in order
// and reports each result.

/** A registered test. */
export interface RegisteredTest {
  name: string;
  fn: () => unknown;
  /** Set by `{ skip }`: the reason, or true. */
  skip: string | boolean;
}

/** Every test registered so far, in registration order. */
export const registered: RegisteredTest[] = [];

type Options = { skip?: string | boolean; timeout?: number };

/** Registers a test, as node:test's `test(name, [options], fn)`. */
export function test(name: string, options: Options | (() => unknown), fn?: () => unknown): void {
  if (typeof options === "function") [fn, options] = [options, {}];
  if (typeof fn !== "function") throw new TypeError(`test '${name}' has no function`);
  registered.push({ name, fn, skip: options.skip ?? false });
}

export default test;
export { test as it };
