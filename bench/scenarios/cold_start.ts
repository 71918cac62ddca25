/**
 * Cold start: a new Deno process until the first row arrives, @dewey/db
 * (`getConnection` then `db.sql`) against raw postgres.js (`postgres(url)`
 * then a tagged query). Module loading, config parsing, connect, the first
 * round trip: everything a serverless cold start pays.
 *
 * @module
 */

import { runChild } from "../child.ts";
import { OURS, RAW } from "../contenders.ts";
import { type Contender, interleave, pairedMedian, summarise, target } from "../stats.ts";
import type { BenchContext, Scenario, ScenarioResult } from "../types.ts";

/** The scenario. */
export const coldStart: Scenario = {
  id: "cold-start",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const url = ctx.url.href;
    const child = (script: string) => async () => ({ value: (await runChild(script, [url], "ROW")).toMarker });
    const contenders: Contender[] = [
      { name: OURS, round: child("cold_ours.ts") },
      { name: RAW, round: child("cold_raw.ts") },
    ];
    const samples = await interleave(contenders, { rounds: ctx.quick ? 1 : 10, warmup: 1, log: ctx.log });
    const ratio = pairedMedian(samples, OURS, RAW, (a, b) => a / b);
    return {
      id: this.id,
      title: "Cold start: new process to first row",
      unit: "ms",
      better: "lower",
      reference: RAW,
      rounds: samples.get(OURS)!.length,
      contenders: summarise(samples, RAW),
      targets: [target(`${OURS} ≤ 1.2× ${RAW}`, ratio, "<=", 1.2, `${ratio.toFixed(2)}×`)],
      notes: [
        "Spawn of `deno run -A` to the child's first printed row; module graph already in Deno's cache (warm-up round).",
      ],
    };
  },
};
