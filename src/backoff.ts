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
