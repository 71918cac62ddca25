/**
 * The table the read and transaction scenarios use: `dewey_bench_items`,
 * UNLOGGED (commits wait for no WAL flush, so the numbers show client cost,
 * not the disk), 10 000 rows, created once and kept.
 *
 * @module
 */

import { rawClient } from "./contenders.ts";

/** The table's name. */
export const ITEMS = "dewey_bench_items";
/** Rows in it; ids are 1..ITEM_COUNT. */
export const ITEM_COUNT = 10_000;

/**
 * The shape of the primary-key read scenarios (`pk-read`, and the same read under Kysely and Drizzle), so that they
 * stay comparable: 64 callers on 10 connections, 20 000 reads a round, 5 rounds.
 */
export const PK_READ_SHAPE = { connections: 10, concurrency: 64, perRound: 20_000, rounds: 5 } as const;

/**
 * Creates and fills the table if it is missing (under an advisory lock, so
 * two bench runs at once do not race).
 *
 * @example
 * ```ts ignore
 * await ensureItems(new URL("postgres://postgres@127.0.0.1/test"));
 * ```
 */
export async function ensureItems(url: URL): Promise<void> {
  const sql = rawClient(url);
  try {
    await sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(hashtext(${ITEMS}))`;
      await tx.unsafe(
        `CREATE UNLOGGED TABLE IF NOT EXISTS ${ITEMS} (id int PRIMARY KEY, name text NOT NULL, n int NOT NULL)`,
      );
      const [{ count }] = await tx.unsafe(`SELECT count(*)::int AS count FROM ${ITEMS}`);
      if (count !== ITEM_COUNT) {
        await tx.unsafe(`TRUNCATE ${ITEMS}`);
        await tx.unsafe(
          `INSERT INTO ${ITEMS} SELECT i, 'item ' || i, 0 FROM generate_series(1, ${ITEM_COUNT}) AS i`,
        );
        await tx.unsafe(`ANALYZE ${ITEMS}`);
      }
    });
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/**
 * `n` ids in 1..ITEM_COUNT from a fixed-seed generator, so every contender reads the same rows.
 *
 * @example
 * ```ts
 * import { ids } from "./fixtures.ts";
 * console.assert(ids(3).join() === ids(3).join());
 * ```
 */
export function ids(n: number, seed = 42): Int32Array {
  const out = new Int32Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    // xorshift32
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = (x % ITEM_COUNT) + 1;
  }
  return out;
}
