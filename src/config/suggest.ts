/**
 * "Did you mean ...?" for misspelt keys and values.
 *
 * @module
 */

/**
 * The candidate closest to `word`, when it is close enough to be a plausible
 * typo: case, `_` and `-` are ignored, then at most one edit for short words
 * and two for longer ones (a swap of adjacent letters counts as one).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { closest } from "./suggest.ts";
 * assert(closest("pool_mx", ["pool_min", "pool_max"]) === "pool_max");
 * assert(closest("poolMax", ["pool_min", "pool_max"]) === "pool_max");
 * assert(closest("colour", ["host", "port"]) === undefined);
 * ```
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = normalise(word);
  const limit = w.length <= 4 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    const d = distance(w, normalise(candidate));
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function normalise(word: string): string {
  return word.toLowerCase().replace(/[_-]/g, "");
}

/** Optimal-string-alignment distance: Levenshtein plus adjacent transpositions. */
function distance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        rows[0].push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2][j - 2] + 1);
      rows[i].push(d);
    }
  }
  return rows[a.length][b.length];
}
