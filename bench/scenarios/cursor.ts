/**
 * `cursor-1m`: 1,000,000 rows streamed through a cursor in batches of 1000,
 * `db.cursor()` against postgres.js's own `.cursor()`, each in a fresh
 * process: rows per second, and the peak RSS growth while streaming (memory
 * stays flat when the rows are not kept).
 *
 * @module
 */

import { runChild } from "../child.ts";
import { OURS, RAW } from "../contenders.ts";
import { type Contender, interleave, pairedMedian, summarise, target } from "../stats.ts";
import type { BenchContext, Scenario, ScenarioResult } from "../types.ts";

const MB = 1024 * 1024;

/** The scenario. */
export const cursor: Scenario = {
  id: "cursor-1m",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const rows = ctx.quick ? 20_000 : 1_000_000;
    const child = (kind: string) => async () => {
      const { stdout } = await runChild("cursor.ts", [kind, ctx.url.href, String(rows), "1000"]);
      const line = stdout.split("\n").find((l) => l.startsWith("CURSOR "));
      if (!line) throw new Error(`cursor.ts ${kind} printed no CURSOR line: ${stdout.slice(-300)}`);
      const m = JSON.parse(line.slice(7)) as { rows: number; ms: number; rss: number; late: number };
      return { value: m.rows / (m.ms / 1000), extra: { "RSS MB": m.rss / MB, "2nd half MB": m.late / MB } };
    };
    const contenders: Contender[] = [
      { name: OURS, round: child("ours") },
      { name: RAW, round: child("raw") },
    ];
    const samples = await interleave(contenders, { rounds: ctx.quick ? 1 : 3, warmup: 0, log: ctx.log });
    const ratio = pairedMedian(samples, OURS, RAW, (a, b) => a / b);
    const growth = Math.max(...samples.get(OURS)!.map((s) => s.extra!["RSS MB"]));
    return {
      id: this.id,
      title: `Cursor: ${rows.toLocaleString("en")} rows in batches of 1000`,
      unit: "rows/s",
      better: "higher",
      reference: RAW,
      rounds: samples.get(OURS)!.length,
      contenders: summarise(samples, RAW),
      targets: [target(`${OURS} RSS growth < 50 MB (worst round)`, growth, "<=", 50, `${growth.toFixed(1)} MB`)],
      notes: [
        `A fresh process per round and contender; three columns per row (int, text, numeric); the rows are read and ` +
        `dropped. RSS MB: the peak over the run, sampled after each batch, above the RSS after a 20 000-row ` +
        `warm-up; most of it is V8 sizing its young generation and letting promoted garbage pile up to its first ` +
        `major GC, which ${RAW}'s own cursor pays alike. 2nd half MB: how far the second half's peak rises above the ` +
        `first half's (0 when memory is flat). ${OURS} at ${ratio.toFixed(2)}× ${RAW}'s rows/s.`,
      ],
    };
  },
};
