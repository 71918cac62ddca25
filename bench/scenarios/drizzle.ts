/**
 * Drizzle ORM on each driver: `@dewey/db/drizzle` over @dewey/db against Drizzle's own `postgres-js` driver
 * (over one postgres.js with `max: 10`) and its `node-postgres` driver (over a `pg` Pool), the same Drizzle
 * calls on each. `drizzle-pk-read`: a `.prepare()`d primary-key read from 64 callers; `drizzle-transaction`:
 * the `transaction` scenario's read, update, read back in `db.transaction()` from 16 callers.
 *
 * @module
 */

import { eq, sql } from "drizzle-orm";
import { drizzle as drizzleNodePg } from "drizzle-orm/node-postgres";
import { integer, type PgDatabase, type PgQueryResultHKT, pgTable, text } from "drizzle-orm/pg-core";
import { drizzle as drizzlePostgresJs } from "drizzle-orm/postgres-js";
import { drizzle } from "../../integrations/drizzle.ts";
import { OURS, PG, RAW, type Trio } from "../contenders.ts";
import { ensureItems, ids, ITEMS, PK_READ_SHAPE } from "../fixtures.ts";
import { pairedMedian, target } from "../stats.ts";
import { throughput } from "../throughput.ts";
import type { BenchContext, Scenario, ScenarioResult } from "../types.ts";

const items = pgTable(ITEMS, {
  id: integer("id").primaryKey(),
  name: text("name").notNull(),
  n: integer("n").notNull(),
});

type Db = PgDatabase<PgQueryResultHKT>;

/** Drizzle over each of the trio's clients. */
function orms(trio: Trio): Record<typeof OURS | typeof RAW | typeof PG, Db> {
  return {
    [OURS]: drizzle(trio.ours) as unknown as Db,
    [RAW]: drizzlePostgresJs(trio.raw) as unknown as Db,
    [PG]: drizzleNodePg(trio.pg) as unknown as Db,
  };
}

const CONTENDERS = `${OURS} = Drizzle on @dewey/db/drizzle, ${RAW} = Drizzle's postgres-js driver on one ` +
  `postgres.js (max 10), ${PG} = Drizzle's node-postgres driver on a pg Pool (max 10)`;

/** Primary-key reads through Drizzle, prepared alike on every driver. */
export const drizzlePkRead: Scenario = {
  id: "drizzle-pk-read",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const keys = ids(4096);
    const { samples, results, perRound } = await throughput(ctx, {
      setup: () => ensureItems(ctx.url),
      ...PK_READ_SHAPE,
      ops: (trio) => {
        const prepared = Object.entries(orms(trio)).map(([name, db]) => {
          const byId = db.select().from(items).where(eq(items.id, sql.placeholder("id"))).prepare("dz_bench_pk");
          return [name, (i: number) => byId.execute({ id: keys[i & 4095] })] as const;
        });
        return Object.fromEntries(prepared) as ReturnType<Parameters<typeof throughput>[1]["ops"]>;
      },
    });
    const vsRaw = pairedMedian(samples, OURS, RAW, (a, b) => a / b);
    return {
      id: this.id,
      title: "Drizzle: prepared primary-key read, 64 callers on 10 connections",
      unit: "q/s",
      better: "higher",
      reference: RAW,
      rounds: samples.get(OURS)!.length,
      contenders: results,
      targets: [target(`Drizzle on ${OURS} ≥ 1.0× Drizzle on ${RAW}`, vsRaw, ">=", 1.0, `${vsRaw.toFixed(2)}×`)],
      notes: [
        `${perRound} reads per round: db.select().from(items).where(eq(items.id, placeholder)).prepare(name), ` +
        `executed with ids from a fixed pseudo-random sequence. ${CONTENDERS}.`,
      ],
    };
  },
};

/** The `transaction` scenario's transaction through Drizzle's `db.transaction()`. */
export const drizzleTransaction: Scenario = {
  id: "drizzle-transaction",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const keys = ids(4096, 7);
    const { samples, results, perRound } = await throughput(ctx, {
      setup: () => ensureItems(ctx.url),
      connections: 10,
      concurrency: 16,
      perRound: 3_000,
      rounds: 5,
      ops: (trio) => {
        const run = (db: Db) => (i: number) =>
          db.transaction(async (tx) => {
            const a = keys[i & 4095], b = keys[(i + 1) & 4095];
            await tx.select().from(items).where(eq(items.id, a));
            await tx.update(items).set({ n: sql`${items.n} + 1` }).where(eq(items.id, b));
            await tx.select({ n: items.n }).from(items).where(eq(items.id, b));
          });
        const dbs = orms(trio);
        return { [OURS]: run(dbs[OURS]), [RAW]: run(dbs[RAW]), [PG]: run(dbs[PG]) };
      },
    });
    const vsRaw = pairedMedian(samples, OURS, RAW, (a, b) => a / b);
    return {
      id: this.id,
      title: "Drizzle: 3-statement db.transaction(), 16 callers on 10 connections",
      unit: "tx/s",
      better: "higher",
      reference: RAW,
      rounds: samples.get(OURS)!.length,
      contenders: results,
      targets: [target(`Drizzle on ${OURS} ≥ 0.9× Drizzle on ${RAW}`, vsRaw, ">=", 0.9, `${vsRaw.toFixed(2)}×`)],
      notes: [
        `${perRound} transactions per round: BEGIN, select by id, update another id, select it back, COMMIT ` +
        `(UNLOGGED table), written with Drizzle's query builder, unprepared. ${CONTENDERS}.`,
      ],
    };
  },
};
