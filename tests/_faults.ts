/**
 * Shared pieces of the fault tests (tests/faults_*_test.ts): a watchdog that
 * turns a hung call into a failure, and the end-of-scenario checks (no call
 * hung, no connection leaked, nothing written twice).
 *
 * @module
 */

import assert from "node:assert/strict";
import type postgres from "postgres";
import type { DatabaseConnection } from "../mod.ts";
import { DatabaseConnectionError } from "../src/errors.ts";
import { backends, waitFor } from "./helpers/db.ts";

/** Marks a call that did not settle within the watchdog. */
export class Hung extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not settle within ${ms} ms`);
  }
}

/**
 * Awaits `p`, failing with {@linkcode Hung} after `ms` (the timer never outlives the call).
 *
 * @example
 * ```ts ignore
 * await settleWithin(db.query("SELECT 1"), 10_000, "query");
 * ```
 */
export async function settleWithin<T>(p: Promise<T>, ms: number, what = "call"): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Hung(what, ms)), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether `e` is what a caller may see during a fault: a retryable `DatabaseConnectionError`. */
export function isRetryableConnectionError(e: unknown): e is DatabaseConnectionError {
  return e instanceof DatabaseConnectionError && e.retryable;
}

/**
 * Whether `e` is the one honest non-retryable outcome of a fault: the connection died after COMMIT was
 * sent, so nobody can tell whether the transaction committed.
 */
export function isCommitInDoubt(e: unknown): e is DatabaseConnectionError {
  return e instanceof DatabaseConnectionError && e.inDoubt && !e.retryable &&
    /may or may not have committed/.test(e.message);
}

/**
 * No connection leaked: nothing checked out or waiting, and the server's
 * backends under `application_name` match `db.stats().total` (polled, since
 * closes are asynchronous on both sides).
 */
export async function assertNoLeak(db: DatabaseConnection, sql: ReturnType<typeof postgres>, name: string) {
  let seen = -1;
  await waitFor(
    async () => {
      const s = db.stats();
      seen = await backends(sql, name);
      // A health check or housekeeping may hold a connection for a moment: a leak holds it for good.
      return s.opening === 0 && seen === s.total && s.inUse === 0 && s.waiting === 0;
    },
    10_000,
    `pg_stat_activity (${seen}) to match db.stats().total (${db.stats().total})`,
  );
  const s = db.stats();
  assert.equal(s.inUse, 0, "a connection is still in use");
  assert.equal(s.waiting, 0, "a caller is still waiting");
  assert.deepEqual(s.leases, [], "a lease was never returned");
  assert.equal(seen, s.total);
}

/** Nothing written twice: no id appears twice in `table`. Returns the ids present. */
export async function idsWrittenOnce(sql: ReturnType<typeof postgres>, table: string): Promise<Set<number>> {
  const rows = await sql.unsafe(`SELECT id::int AS id, count(*)::int AS n FROM ${table} GROUP BY id`);
  const twice = rows.filter((r) => r.n > 1).map((r) => r.id);
  assert.deepEqual(twice, [], `ids written more than once: ${twice.join(", ")}`);
  return new Set(rows.map((r) => r.id as number));
}

/**
 * Resolves with the `performance.now()` at which the postmaster marked itself
 * `ready` in postmaster.pid (polled every 2 ms: `pg_ctl start -w` only looks
 * every 100 ms). Start it before `cluster.start()`; rejects after `ms`.
 */
export async function readyAt(dataDir: string, ms = 30_000): Promise<number> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const text = await Deno.readTextFile(`${dataDir}/postmaster.pid`).catch(() => "");
    if (/^ready\s*$/m.test(text)) return performance.now();
    await sleep(2);
  }
  throw new Error(`postmaster not ready within ${ms} ms`);
}

/** Sleeps `ms`. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
