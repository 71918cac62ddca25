/**
 * Reconnect backoff.
 *
 * @module
 */

/**
 * Exponential backoff with full jitter: a uniform delay in
 * `[0, min(max, base * 2^attempt))`. Full jitter spreads the reconnects of many
 * clients after an outage instead of having them arrive in waves.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { backoffDelay } from "./backoff.ts";
 * const d = backoffDelay(3, 100, 10_000);
 * assert(d >= 0 && d < 800);
 * ```
 */
export function backoffDelay(attempt: number, base: number, max: number, random: () => number = Math.random): number {
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/**
 * The wait before the next attempt during an outage that has lasted `age`
 * ms: a fifth of its age, at least `base`, at most `max`, jittered by ±50%
 * (capped at `max`). Growing with the outage's age rather than with the count
 * of attempts keeps a restart's reconnection within a fraction of the
 * restart's length, and a long outage at about one attempt per `max`: some
 * twenty attempts in the first 20 s with `base` 100 ms.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { outageDelay } from "./backoff.ts";
 * assert.equal(outageDelay(0, 100, 10_000, () => 0.5), 100); // a fresh outage: base
 * assert.equal(outageDelay(5_000, 100, 10_000, () => 0.5), 1_000); // 5 s in: a fifth of it
 * assert.equal(outageDelay(600_000, 100, 10_000, () => 0.99), 10_000); // never more than max
 * ```
 */
export function outageDelay(
  age: number,
  base: number,
  max: number,
  random: () => number = Math.random,
): number {
  const step = Math.min(max, Math.max(base, age / 5));
  return Math.round(Math.min(max, step * (0.5 + random())));
}
