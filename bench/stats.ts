/**
 * Interleaved rounds and the statistics the table prints: medians over
 * rounds, and ratios taken within a round (both contenders saw the same
 * machine load) before the median is taken.
 *
 * @module
 */

import type { Better, ContenderResult, TargetResult } from "./types.ts";

/**
 * The `q`-quantile (0..1) of `values`, nearest rank on a sorted copy.
 *
 * @example
 * ```ts
 * import { quantile } from "./stats.ts";
 * console.assert(quantile([5, 1, 3], 0.5) === 3);
 * ```
 */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

/**
 * The median (mean of the two middle values for an even count).
 *
 * @example
 * ```ts
 * import { median } from "./stats.ts";
 * console.assert(median([4, 1, 3, 2]) === 2.5);
 * ```
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = Float64Array.from(values).sort();
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** What one round of one contender measured: the metric, and optional secondary numbers. */
export interface Sample {
  /** The round's metric (q/s, µs...). */
  value: number;
  /** Secondary numbers (p99...). */
  extra?: Record<string, number>;
}

/** A contender in an interleaved run: `round()` runs one round and returns its metric. */
export interface Contender {
  /** Name in the table. */
  name: string;
  /** Runs one round. */
  round(): Promise<Sample>;
}

/** Rounds and warm-up of an interleaved run. */
export interface InterleaveOptions {
  /** Measured rounds per contender. */
  rounds: number;
  /** Unmeasured rounds per contender, run first (JIT, connections, caches). */
  warmup: number;
  /** Progress. */
  log?: (line: string) => void;
}

/**
 * Runs the contenders' rounds interleaved (A B C, B C A, C A B...): every
 * contender sees the same slice of machine noise, and the starting position
 * rotates so none always runs right after another's garbage.
 *
 * @example
 * ```ts
 * import { interleave } from "./stats.ts";
 * const order: string[] = [];
 * const mk = (name: string) => ({ name, round: () => (order.push(name), Promise.resolve({ value: 1 })) });
 * await interleave([mk("A"), mk("B")], { rounds: 2, warmup: 0 });
 * console.assert(order.join("") === "ABBA");
 * ```
 */
export async function interleave(
  contenders: readonly Contender[],
  options: InterleaveOptions,
): Promise<Map<string, Sample[]>> {
  const out = new Map<string, Sample[]>(contenders.map((c) => [c.name, []]));
  const total = options.warmup + options.rounds;
  for (let r = 0; r < total; r++) {
    const measured = r >= options.warmup;
    for (let k = 0; k < contenders.length; k++) {
      const c = contenders[(r + k) % contenders.length];
      const sample = await c.round();
      if (measured) out.get(c.name)!.push(sample);
    }
    options.log?.(`  round ${r + 1}/${total}${measured ? "" : " (warm-up)"}`);
  }
  return out;
}

/**
 * Summarises interleaved samples; ratios divide each round's metric by the
 * reference's metric in the same round, then take the median.
 *
 * @example
 * ```ts
 * import { summarise } from "./stats.ts";
 * const m = new Map([["A", [{ value: 2 }, { value: 4 }]], ["B", [{ value: 1 }, { value: 2 }]]]);
 * const [a] = summarise(m, "B");
 * console.assert(a.median === 3 && a.ratio === 2);
 * ```
 */
export function summarise(samples: Map<string, Sample[]>, reference?: string): ContenderResult[] {
  const ref = reference === undefined ? undefined : samples.get(reference);
  const results: ContenderResult[] = [];
  for (const [name, list] of samples) {
    const values = list.map((s) => s.value);
    const keys = new Set(list.flatMap((s) => Object.keys(s.extra ?? {})));
    const extra: Record<string, number> = {};
    for (const k of keys) extra[k] = median(list.map((s) => s.extra?.[k] ?? NaN).filter((v) => !Number.isNaN(v)));
    const result: ContenderResult = {
      name,
      median: median(values),
      min: Math.min(...values),
      max: Math.max(...values),
      samples: values,
    };
    if (keys.size) result.extra = extra;
    if (ref && ref.length === list.length) {
      // A zero reference (0 ms recovery) gives no ratio for that round.
      const ratios = list.map((s, i) => s.value / ref[i].value).filter(Number.isFinite);
      if (ratios.length) result.ratio = median(ratios);
    }
    results.push(result);
  }
  return results;
}

/**
 * The median over rounds of `f(a, b)` for two contenders' same-round samples.
 *
 * @example
 * ```ts
 * import { pairedMedian } from "./stats.ts";
 * const m = new Map([["A", [{ value: 12 }, { value: 15 }]], ["B", [{ value: 10 }, { value: 10 }]]]);
 * console.assert(pairedMedian(m, "A", "B", (a, b) => a - b) === 3.5);
 * ```
 */
export function pairedMedian(
  samples: Map<string, Sample[]>,
  a: string,
  b: string,
  f: (a: number, b: number) => number,
  pick: (s: Sample) => number = (s) => s.value,
): number {
  const as = samples.get(a) ?? [];
  const bs = samples.get(b) ?? [];
  const n = Math.min(as.length, bs.length);
  return median(Array.from({ length: n }, (_, i) => f(pick(as[i]), pick(bs[i]))).filter(Number.isFinite));
}

/**
 * A target verdict.
 *
 * @example
 * ```ts
 * import { target } from "./stats.ts";
 * console.assert(target("x ≥ 1.3× y", 1.5, ">=", 1.3, "1.50×").pass);
 * ```
 */
export function target(
  label: string,
  measured: number,
  op: ">=" | "<=",
  threshold: number,
  shown: string,
): TargetResult {
  const pass = Number.isFinite(measured) && (op === ">=" ? measured >= threshold : measured <= threshold);
  return { label, measured, shown, op, threshold, pass };
}

/**
 * Runs `total` operations over `concurrency` callers; resolves with elapsed ms.
 *
 * @example
 * ```ts
 * import { drive } from "./stats.ts";
 * let n = 0;
 * await drive(4, 100, async () => { n++; });
 * console.assert(n === 100);
 * ```
 */
export async function drive(concurrency: number, total: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const worker = async () => {
    while (next < total) await op(next++);
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return performance.now() - t0;
}

/** Direction word for headings. */
export function betterWord(better: Better): string {
  return better === "higher" ? "higher is better" : "lower is better";
}
