// Equivalence tests compare two runs (a split variable against one buffer, a resumed run against
// an uninterrupted one, one runtime against another, a checkpoint's round trip): a step that did
// nothing would give two equal results and pass them all. So each also checks, with assertMoved,
// that the weights it compares moved away from their initial values.
import assert from "node:assert/strict";

/**
 * Fails unless at least one element of `now` differs from `initial` (the values before the first
 * step, or the one value every element started at), naming `what`. NaN equals NaN here, and -0
 * equals 0: neither is a move.
 */
export function assertMoved(
  now: ArrayLike<number>,
  initial: ArrayLike<number> | number,
  what: string,
): void {
  const at = typeof initial === "number" ? () => initial : (i: number) => initial[i];
  if (typeof initial !== "number") {
    assert.equal(now.length, initial.length, `${what}: lengths`);
  }
  assert.ok(now.length > 0, `${what}: no elements`);
  for (let i = 0; i < now.length; i++) {
    const [x, y] = [now[i], at(i)];
    if (x !== y && !(Number.isNaN(x) && Number.isNaN(y))) return;
  }
  assert.fail(
    `${what}: all ${now.length} elements still hold their initial values (no step moved)`,
  );
}
