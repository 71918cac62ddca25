/**
 * Durations as configuration values: a number of seconds, or a string such as
 * `"500ms"`, `"30s"`, `"5m"`, `"1h"`, `"2d"`, `"1.5s"` or `"1h30m"`.
 *
 * @module
 */

import { describeValue } from "./describe.ts";

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const NUMBER = /^\d+(?:\.\d+)?$|^\.\d+$/;
const PART = /(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h|d)/y;
const SHAPE = `a duration such as "500ms", "30s", "5m", "1h", "2d" or a number of seconds`;

/**
 * Converts a duration to whole milliseconds. A bare number, or a string that
 * is only a number, counts seconds (libpq's `connect_timeout` does the same).
 *
 * @throws {RangeError} when `input` is not a non-negative duration; the
 * message says what was expected and what was found.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDuration } from "./duration.ts";
 * assert(parseDuration(30) === 30_000);
 * assert(parseDuration("500ms") === 500);
 * assert(parseDuration("1.5s") === 1_500);
 * assert(parseDuration("1h30m") === 5_400_000);
 * ```
 */
export function parseDuration(input: unknown): number {
  if (typeof input === "number") {
    if (Number.isFinite(input) && input >= 0) return Math.round(input * 1_000);
  } else if (typeof input === "string") {
    const ms = parseText(input.trim().toLowerCase());
    if (ms !== undefined) return ms;
  }
  throw new RangeError(`expected ${SHAPE}, found ${describeValue(input)}`);
}

function parseText(text: string): number | undefined {
  if (NUMBER.test(text)) return Math.round(Number(text) * 1_000);
  if (text === "") return undefined;
  let total = 0;
  PART.lastIndex = 0;
  // Sticky matching walks "1h30m" part by part and fails on any gap or junk.
  while (PART.lastIndex < text.length) {
    const start = PART.lastIndex;
    const match = PART.exec(text);
    if (!match || match.index !== start) return undefined;
    total += Number(match[1]) * UNIT_MS[match[2]];
    while (text[PART.lastIndex] === " ") PART.lastIndex++;
  }
  return Math.round(total);
}
