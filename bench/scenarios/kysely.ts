/**
 * Kysely on @dewey/db (`DeweyDialect`) against Kysely on its own `pg`
 * dialect (`PostgresDialect` on a `pg` Pool of the same size): the same
 * query builder calls on both sides, so the difference is the driver.
 *
 * Both sides are prepared alike: @dewey/db prepares named statements by
 * default, and Kysely's `pg` driver sends every statement unnamed (parsed on
 * each execution), so the judged `pg` row names each statement as pg's own
 * `{ name, text, values }` does; Kysely on pg as it comes is shown beside it.
 *
 * @module
 */

import { Kysely, PostgresDialect, type PostgresPool } from "kysely";
import type pg from "pg";
import { DeweyDialect } from "../../integrations/kysely.ts";
import { openPg, OURS, PG, RAW, type Trio } from "../contenders.ts";
import { ensureItems, ids, ITEMS, PK_READ_SHAPE } from "../fixtures.ts";
import { pairedMedian, target } from "../stats.ts";
import { throughput, type ThroughputSpec } from "../throughput.ts";
import type { BenchContext, ContenderResult, Scenario, ScenarioResult } from "../types.ts";

interface Items {
  dewey_bench_items: { id: number; name: string; n: number };
}

type Op = (k: Kysely<Items>, i: number) => Promise<unknown>;

/** Kysely on pg as it comes: unnamed statements. */
const UNNAMED = "Kysely on pg Pool, unnamed statements";
const LABELS: Record<string, string> = {
  [OURS]: "Kysely on @dewey/db",
  [PG]: "Kysely on pg Pool, prepared",
  [RAW]: "postgres.js (no Kysely)",
};

/**
 * `pool` for Kysely's `pg` driver with every statement named after its text, so pg prepares it once per
 * connection as @dewey/db does.
 */
function preparedPool(pool: pg.Pool): PostgresPool {
  const names = new Map<string, string>();
  const named = (text: string) => {
    let name = names.get(text);
    if (name === undefined) names.set(text, name = `kysely_${names.size}`);
    return name;
  };
  return {
    options: pool.options,
    end: () => pool.end(),
    async connect() {
      const client = await pool.connect();
      return {
        query: (text: string, values: unknown[]) => client.query({ name: named(text), text, values }),
        release: (destroy?: boolean) => client.release(destroy),
      } as unknown as Awaited<ReturnType<PostgresPool["connect"]>>;
    },
  };
}

/** A throughput run of `op` through Kysely on each side; postgres.js without Kysely is the reference row. */
async function kyselyThroughput(
  ctx: BenchContext,
  spec: Pick<ThroughputSpec, "concurrency" | "perRound" | "rounds">,
  op: Op,
  raw: (trio: Trio) => (i: number) => Promise<unknown>,
): Promise<{ results: ContenderResult[]; ratio: number; perRound: number; rounds: number }> {
  const connections = 10;
  const run = await throughput(ctx, {
    ...spec,
    connections,
    setup: () => ensureItems(ctx.url),
    ops: (trio) => {
      const ours = new Kysely<Items>({ dialect: new DeweyDialect({ db: trio.ours }) });
      const pg = new Kysely<Items>({ dialect: new PostgresDialect({ pool: preparedPool(trio.pg) }) });
      return { [OURS]: (i) => op(ours, i), [RAW]: raw(trio), [PG]: (i) => op(pg, i) };
    },
    extra: [{
      name: UNNAMED,
      open: async (url, size) => {
        const k = new Kysely<Items>({ dialect: new PostgresDialect({ pool: await openPg(url, size) }) });
        return { op: (i) => op(k, i), close: () => k.destroy() };
      },
    }],
  });
  const ratio = pairedMedian(run.samples, OURS, PG, (a, b) => a / b);
  const results = run.results.map((r) => ({ ...r, name: LABELS[r.name] ?? r.name }));
  return { results, ratio, perRound: run.perRound, rounds: run.samples.get(PG)!.length };
}

/** Primary-key reads through Kysely, 64 callers on 10 connections. */
export const kyselyPkRead: Scenario = {
  id: "kysely-pk-read",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const keys = ids(4096);
    const { results, ratio, perRound, rounds } = await kyselyThroughput(
      ctx,
      PK_READ_SHAPE,
      (k, i) =>
        k.selectFrom("dewey_bench_items").select(["id", "name", "n"]).where("id", "=", keys[i & 4095]).execute(),
      ({ raw }) => (i) => raw`SELECT id, name, n FROM dewey_bench_items WHERE id = ${keys[i & 4095]}`,
    );
    return {
      id: this.id,
      title: "Kysely primary-key read, 64 callers on 10 connections",
      unit: "q/s",
      better: "higher",
      reference: LABELS[RAW],
      rounds,
      contenders: results,
      targets: [target(`${LABELS[OURS]} ≥ 1.0× ${LABELS[PG]}`, ratio, ">=", 1.0, `${ratio.toFixed(2)}×`)],
      notes: [
        `${perRound} reads per round of ${ITEMS} by a fixed pseudo-random id sequence, the query built by Kysely ` +
        `on each call. Both judged sides prepare named statements (see the module doc); ${UNNAMED} is Kysely's ` +
        `pg driver as it comes.`,
      ],
    };
  },
};

/** A 3-statement `kysely.transaction()`, 16 callers on 10 connections. */
export const kyselyTransaction: Scenario = {
  id: "kysely-transaction",
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const keys = ids(4096, 7);
    const { results, ratio, perRound, rounds } = await kyselyThroughput(
      ctx,
      { concurrency: 16, perRound: 4_000, rounds: 7 },
      (k, i) =>
        k.transaction().execute(async (trx) => {
          const a = keys[i & 4095], b = keys[(i + 1) & 4095];
          await trx.selectFrom("dewey_bench_items").select(["id", "name", "n"]).where("id", "=", a).execute();
          await trx.updateTable("dewey_bench_items").set((eb) => ({ n: eb("n", "+", 1) })).where("id", "=", b)
            .execute();
          await trx.selectFrom("dewey_bench_items").select("n").where("id", "=", b).execute();
        }),
      ({ raw }) => (i) =>
        raw.begin(async (sql) => {
          const a = keys[i & 4095], b = keys[(i + 1) & 4095];
          await sql`SELECT id, name, n FROM dewey_bench_items WHERE id = ${a}`;
          await sql`UPDATE dewey_bench_items SET n = n + 1 WHERE id = ${b}`;
          await sql`SELECT n FROM dewey_bench_items WHERE id = ${b}`;
        }),
    );
    return {
      id: this.id,
      title: "Kysely 3-statement transaction, 16 callers on 10 connections",
      unit: "tx/s",
      better: "higher",
      reference: LABELS[RAW],
      rounds,
      contenders: results,
      targets: [target(`${LABELS[OURS]} ≥ 0.9× ${LABELS[PG]}`, ratio, ">=", 0.9, `${ratio.toFixed(2)}×`)],
      notes: [
        `${perRound} transactions per round through kysely.transaction(): BEGIN, read by id, UPDATE another id, ` +
        `read it back, COMMIT (UNLOGGED table). On @dewey/db each is a session.`,
      ],
    };
  },
};
