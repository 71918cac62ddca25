/**
 * `SELECT 1` from 64 concurrent callers on 10 connections: throughput. This is
 * where @dewey/db's shared pipelined dispatch (each autocommit statement to
 * the least-loaded of 10 single-connection postgres.js instances) should beat
 * one postgres.js with `max: 10` and approach pgbench with 10 clients.
 *
 * @module
 */

import { DISPATCH, openDispatch, OURS, PG, PGBENCH, RAW } from "../contenders.ts";
import { pairedMedian, target } from "../stats.ts";
import { throughput } from "../throughput.ts";
import type { BenchContext, Scenario, ScenarioResult } from "../types.ts";

/** The scenario. */
export const select1Throughput: Scenario = {
  id: "throughput",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const { samples, results, perRound } = await throughput(ctx, {
      connections: 10,
      concurrency: 64,
      perRound: 30_000,
      rounds: 7, // the targets sit near their thresholds on a shared 2-core machine: two more pairs of ratios
      ops: ({ ours, raw, pg }) => ({
        [OURS]: () => ours.sql`SELECT 1`,
        [RAW]: () => raw`SELECT 1`,
        [PG]: () => pg.query("SELECT 1"),
      }),
      extra: [{
        name: DISPATCH,
        open: async (url, n) => {
          const d = await openDispatch(url, n);
          return { op: () => d.run((sql) => sql`SELECT 1`), close: d.close };
        },
      }],
      pgbenchScript: "SELECT 1;\n",
    });
    const vsRaw = pairedMedian(samples, OURS, RAW, (a, b) => a / b);
    const vsPgbench = pairedMedian(samples, OURS, PGBENCH, (a, b) => a / b);
    const vsDispatch = pairedMedian(samples, OURS, DISPATCH, (a, b) => a / b);
    const dispatchVsPgbench = pairedMedian(samples, DISPATCH, PGBENCH, (a, b) => a / b);
    return {
      id: this.id,
      title: "SELECT 1, 64 callers on 10 connections (throughput)",
      unit: "q/s",
      better: "higher",
      reference: RAW,
      rounds: samples.get(OURS)!.length,
      contenders: results,
      targets: [
        target(`${OURS} ≥ 1.3× ${RAW} (max: 10)`, vsRaw, ">=", 1.3, `${vsRaw.toFixed(2)}×`),
        target(`${OURS} ≥ 0.9× ${PGBENCH} (10 clients)`, vsPgbench, ">=", 0.9, `${vsPgbench.toFixed(2)}×`),
      ],
      notes: [
        `${perRound} statements per round; pgbench -c 10 -j 1 -M prepared, tps without connection time.`,
        `${DISPATCH}: the same least-loaded dispatch written directly on postgres.js (the design without ` +
        `@dewey/db's layer): ${OURS} at ${vsDispatch.toFixed(2)}× it, it at ${dispatchVsPgbench.toFixed(2)}× pgbench.`,
      ],
    };
  },
};
