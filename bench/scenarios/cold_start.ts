/**
 * Cold start: a new Deno process until the first row, @dewey/db
 * (`getConnection` then `db.sql`) against raw postgres.js (`postgres(url)`
 * then a tagged query). Module loading, config parsing, connect, the first
 * round trip: everything a serverless cold start pays.
 *
 * Two more contenders split @dewey/db's extra time: raw postgres.js that
 * first imports `zod/mini` (the validator's package alone), and raw
 * postgres.js that first imports all of @dewey/db without using it (every
 * module loaded). Paired per round, the differences say how much is zod,
 * how much our other modules, and how much configuring, connecting and the
 * first query through the pool.
 *
 * @module
 */

import { runChild } from "../child.ts";
import { OURS, RAW } from "../contenders.ts";
import { type Contender, interleave, pairedMedian, type Sample, summarise, target } from "../stats.ts";
import type { BenchContext, Scenario, ScenarioResult } from "../types.ts";

/** Raw postgres.js after importing zod/mini. */
export const RAW_ZOD = `${RAW} + zod/mini loaded`;
/** Raw postgres.js after importing @dewey/db. */
export const RAW_OURS = `${RAW} + ${OURS} loaded`;

/** Rounds of a cold start scenario: four contenders interleaved, one warm-up. */
export function coldRounds(
  ctx: BenchContext,
  round: (name: string) => () => Promise<Sample>,
): Promise<Map<string, Sample[]>> {
  const contenders: Contender[] = [OURS, RAW, RAW_ZOD, RAW_OURS].map((name) => ({ name, round: round(name) }));
  return interleave(contenders, { rounds: ctx.quick ? 1 : 10, warmup: 1, log: ctx.log });
}

/**
 * The result of a cold start scenario: the 1.2× target and where @dewey/db's extra time goes.
 *
 * @example
 * ```ts ignore
 * return coldStartResult("cold-start", "Cold start", await coldRounds(ctx, round), "Deno", []);
 * ```
 */
export function coldStartResult(
  id: string,
  title: string,
  samples: Map<string, Sample[]>,
  runtime: string,
  notes: string[],
): ScenarioResult {
  const ratio = pairedMedian(samples, OURS, RAW, (a, b) => a / b);
  const diff = (a: string, b: string) => pairedMedian(samples, a, b, (x, y) => x - y);
  const ms = (n: number) => `${n.toFixed(1)} ms`;
  return {
    id,
    title,
    unit: "ms",
    better: "lower",
    reference: RAW,
    rounds: samples.get(OURS)!.length,
    contenders: summarise(samples, RAW),
    targets: [target(`${OURS} ≤ 1.2× ${RAW} (${runtime})`, ratio, "<=", 1.2, `${ratio.toFixed(2)}×`)],
    notes: [
      ...notes,
      `Where ${OURS}'s +${ms(diff(OURS, RAW))} goes (paired medians): zod/mini's modules ${ms(diff(RAW_ZOD, RAW))}, ` +
      `the rest of ${OURS}'s modules ${ms(diff(RAW_OURS, RAW_ZOD))}, configuring, connecting and the first query ` +
      `through the pool ${ms(diff(OURS, RAW_OURS))}.`,
    ],
  };
}

/** The scenario. */
export const coldStart: Scenario = {
  id: "cold-start",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const url = ctx.url.href;
    // deno.json, not the development configuration: what an application of ours loads, from Deno's global cache.
    const flags = ["--config=deno.json"];
    const child = (script: string, ...args: string[]) => async () => ({
      value: (await runChild(script, [url, ...args], "ROW", flags)).toMarker,
    });
    const scripts: Record<string, () => Promise<Sample>> = {
      [OURS]: child("cold_ours.ts"),
      [RAW]: child("cold_raw.ts"),
      [RAW_ZOD]: child("cold_raw.ts", "zod/mini"),
      [RAW_OURS]: child("cold_raw.ts", "../../mod.ts"),
    };
    const samples = await coldRounds(ctx, (name) => scripts[name]);
    return coldStartResult("cold-start", "Cold start: new process to first row", samples, "Deno", [
      "Spawn of `deno run -A` to the child's first printed row; module graph already in Deno's cache (warm-up round).",
    ]);
  },
};
