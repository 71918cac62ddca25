/**
 * `SELECT 1` at concurrency 1: one caller, one statement at a time. Reports
 * p50 and p99 per round; the target is the p50 overhead over raw postgres.js.
 *
 * @module
 */

import { openTrio, OURS, PG, PGBENCH, RAW, target as dbTarget } from "../contenders.ts";
import { latencySummary, pgbench } from "../pgbench.ts";
import { type Contender, interleave, pairedMedian, quantile, type Sample, summarise, target } from "../stats.ts";
import type { BenchContext, Scenario, ScenarioResult } from "../types.ts";

async function timed(n: number, op: () => Promise<unknown>): Promise<Sample> {
  const lat = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await op();
    lat[i] = (performance.now() - t) * 1000;
  }
  const all = [...lat];
  return { value: quantile(all, 0.5), extra: { p99: quantile(all, 0.99) } };
}

/** The scenario. */
export const select1Latency: Scenario = {
  id: "latency",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const n = ctx.quick ? 30 : 3000;
    await using trio = await openTrio(ctx.url, 1);
    const { ours, raw, pg } = trio;
    const contenders: Contender[] = [
      { name: OURS, round: () => timed(n, () => ours.sql`SELECT 1`) },
      { name: RAW, round: () => timed(n, () => raw`SELECT 1`) },
      { name: PG, round: () => timed(n, () => pg.query("SELECT 1")) },
      {
        name: PGBENCH,
        round: async () => {
          const run = await pgbench({
            target: dbTarget(ctx.url),
            script: "SELECT 1;\n",
            clients: 1,
            transactions: n,
            log: true,
          });
          const { p50, p99 } = latencySummary(run.latencies ?? []);
          return { value: p50, extra: { p99 } };
        },
      },
    ];
    const samples = await interleave(contenders, { rounds: ctx.quick ? 1 : 7, warmup: 1, log: ctx.log });
    const overhead = pairedMedian(samples, OURS, RAW, (a, b) => a - b);
    return {
      id: this.id,
      title: "SELECT 1, concurrency 1 (p50 latency)",
      unit: "µs",
      better: "lower",
      reference: RAW,
      rounds: samples.get(OURS)!.length,
      contenders: summarise(samples, RAW),
      targets: [
        target(`${OURS} p50 overhead over ${RAW} ≤ 10 µs`, overhead, "<=", 10, `${fmtSigned(overhead)} µs`),
      ],
      notes: [
        `${n} sequential statements per round on 1 connection each; p50 and p99 of that round, medians over rounds.`,
        `${OURS} and ${RAW} use tagged templates, ${PG} pool.query(text); pgbench -M prepared, latency from its -l log.`,
      ],
    };
  },
};

function fmtSigned(v: number): string {
  return (v >= 0 ? "+" : "") + v.toFixed(1);
}
