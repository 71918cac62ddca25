/**
 * A 3-statement transaction (read, update, read back) from 16 callers on 10
 * connections: `getSession` against postgres.js `sql.begin` and pg's
 * `BEGIN`/`COMMIT` on a checked-out client.
 *
 * @module
 */

import { OURS, PG, PGBENCH, RAW } from "../contenders.ts";
import { ensureItems, ids, ITEM_COUNT, ITEMS } from "../fixtures.ts";
import { pairedMedian, target } from "../stats.ts";
import { throughput } from "../throughput.ts";
import type { BenchContext, Scenario, ScenarioResult } from "../types.ts";

/** The scenario. */
export const transaction: Scenario = {
  id: "transaction",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const keys = ids(4096, 7);
    const read = `SELECT id, name, n FROM ${ITEMS} WHERE id = $1`;
    const update = `UPDATE ${ITEMS} SET n = n + 1 WHERE id = $1`;
    const readBack = `SELECT n FROM ${ITEMS} WHERE id = $1`;
    const { samples, results, perRound } = await throughput(ctx, {
      setup: () => ensureItems(ctx.url),
      connections: 10,
      concurrency: 16,
      perRound: 4_000,
      rounds: 7, // the targets sit near their thresholds on a shared 2-core machine: two more pairs of ratios
      ops: ({ ours, raw, pg }) => ({
        [OURS]: (i) =>
          ours.getSession(async (s) => {
            const a = keys[i & 4095], b = keys[(i + 1) & 4095];
            await s.sql`SELECT id, name, n FROM dewey_bench_items WHERE id = ${a}`;
            await s.sql`UPDATE dewey_bench_items SET n = n + 1 WHERE id = ${b}`;
            await s.sql`SELECT n FROM dewey_bench_items WHERE id = ${b}`;
          }),
        [RAW]: (i) =>
          raw.begin(async (sql) => {
            const a = keys[i & 4095], b = keys[(i + 1) & 4095];
            await sql`SELECT id, name, n FROM dewey_bench_items WHERE id = ${a}`;
            await sql`UPDATE dewey_bench_items SET n = n + 1 WHERE id = ${b}`;
            await sql`SELECT n FROM dewey_bench_items WHERE id = ${b}`;
          }),
        [PG]: async (i) => {
          const a = keys[i & 4095], b = keys[(i + 1) & 4095];
          const client = await pg.connect();
          try {
            await client.query("BEGIN");
            await client.query(read, [a]);
            await client.query(update, [b]);
            await client.query(readBack, [b]);
            await client.query("COMMIT");
          } catch (error) {
            await client.query("ROLLBACK").catch(() => {});
            throw error;
          } finally {
            client.release();
          }
        },
      }),
      pgbenchScript: `\\set a random(1, ${ITEM_COUNT})\n\\set b random(1, ${ITEM_COUNT})\nBEGIN;\n` +
        `SELECT id, name, n FROM ${ITEMS} WHERE id = :a;\nUPDATE ${ITEMS} SET n = n + 1 WHERE id = :b;\n` +
        `SELECT n FROM ${ITEMS} WHERE id = :b;\nEND;\n`,
    });
    const vsRaw = pairedMedian(samples, OURS, RAW, (a, b) => a / b);
    const vsPgbench = pairedMedian(samples, OURS, PGBENCH, (a, b) => a / b);
    return {
      id: this.id,
      title: "3-statement transaction, 16 callers on 10 connections",
      unit: "tx/s",
      better: "higher",
      reference: RAW,
      rounds: samples.get(OURS)!.length,
      contenders: results,
      targets: [target(`${OURS} getSession ≥ 0.9× ${RAW} sql.begin`, vsRaw, ">=", 0.9, `${vsRaw.toFixed(2)}×`)],
      notes: [
        `${perRound} transactions per round: BEGIN, read by id, UPDATE another id, read it back, COMMIT ` +
        `(UNLOGGED table: no WAL flush at commit). pgbench runs the same script with 10 clients; ` +
        `${OURS} at ${vsPgbench.toFixed(2)}× pgbench.`,
      ],
    };
  },
};
