/**
 * Element-wise closeness with a bound that scales with magnitude: |a − r| ≤ atol + rtol·|r|.
 * Throws (rather than using a test framework's expect) so the same suites run in Node and in
 * the browser page.
 */
export interface Tolerance {
  atol: number;
  rtol: number;
}

export const F32: Tolerance = { atol: 1e-5, rtol: 1e-4 };

export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  what: string,
  tol: Tolerance = F32,
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: length ${actual.length}, expected ${expected.length}`);
  }
  let worst = -1;
  let worstExcess = 0;
  let bad = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const r = expected[i]!;
    const bound = tol.atol + tol.rtol * Math.abs(r);
    const err = Math.abs(a - r);
    if (!(err <= bound)) {
      bad++;
      const excess = Number.isNaN(err) ? Infinity : err / bound;
      if (excess > worstExcess || worst < 0) {
        worst = i;
        worstExcess = excess;
      }
    }
  }
  if (bad > 0) {
    throw new Error(
      `${what}: ${bad}/${actual.length} elements out of tolerance (atol ${tol.atol}, rtol ${tol.rtol}); worst at [${worst}]: got ${actual[worst]}, expected ${expected[worst]}`,
    );
  }
}

export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

/** Runs fn and checks that it throws an error whose message matches `pattern`. */
export async function assertThrows(fn: () => unknown, pattern: RegExp, what: string): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    const err = e as Error;
    if (!pattern.test(err.message)) throw new Error(`${what}: threw "${err.message}", expected to match ${pattern}`);
    return err;
  }
  throw new Error(`${what}: expected an error matching ${pattern}, nothing was thrown`);
}
