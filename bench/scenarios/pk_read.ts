/**
 * A parameterised single-row primary-key read from 64 callers on 10
 * connections: the everyday statement, with a parameter to bind.
 *
 * @module
 */

import { OURS, PG, PGBENCH, RAW } from "../contenders.ts";
import { ensureItems, ids, ITEM_COUNT, ITEMS, PK_READ_SHAPE } from "../fixtures.ts";
import { pairedMedian } from "../stats.ts";
import { throughput } from "../throughput.ts";
import type { BenchContext, Scenario, ScenarioResult } from "../types.ts";

/** The scenario. */
export const pkRead: Scenario = {
  id: "pk-read",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const keys = ids(4096);
    const text = `SELECT id, name, n FROM ${ITEMS} WHERE id = $1`;
    const { samples, results, perRound } = await throughput(ctx, {
      setup: () => ensureItems(ctx.url),
      ...PK_READ_SHAPE,
      ops: ({ ours, raw, pg }) => ({
        [OURS]: (i) => ours.sql`SELECT id, name, n FROM dewey_bench_items WHERE id = ${keys[i & 4095]}`,
        [RAW]: (i) => raw`SELECT id, name, n FROM dewey_bench_items WHERE id = ${keys[i & 4095]}`,
        [PG]: (i) => pg.query(text, [keys[i & 4095]]),
      }),
      pgbenchScript: `\\set id random(1, ${ITEM_COUNT})\nSELECT id, name, n FROM ${ITEMS} WHERE id = :id;\n`,
    });
    const vsPgbench = pairedMedian(samples, OURS, PGBENCH, (a, b) => a / b);
    return {
      id: this.id,
      title: "Primary-key read, $1 bound, 64 callers on 10 connections",
      unit: "q/s",
      better: "higher",
      reference: RAW,
      rounds: samples.get(OURS)!.length,
      contenders: results,
      targets: [],
      notes: [
        `${perRound} reads per round of ${ITEMS} (${ITEM_COUNT} rows) by a fixed pseudo-random id sequence; ` +
        `${OURS} at ${vsPgbench.toFixed(2)}× pgbench. No target: read the ratio against ${RAW}.`,
      ],
    };
  },
};
