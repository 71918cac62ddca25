/**
 * One behaviour on every adapter: a conformance suite, parameterised by
 * adapter, that each adapter's test file runs against a real database.
 *
 * ```ts ignore
 * import { runConformance } from "./conformance/suite.ts";
 * runConformance("postgres", (settings) => testDb(settings), { cancel: true });
 * ```
 *
 * Every test creates the tables it needs through the database under test
 * (names unique per run), so it works on a shared server and on an embedded
 * one alike, and closes every connection it opens (sanitizers stay on).
 *
 * @module
 */

import assert from "node:assert/strict";
import type { DatabaseConnectionBase as DatabaseConnection } from "../../src/database.ts";
import {
  ConfigError,
  DatabaseConnectionError,
  PoolTimeoutError,
  QueryCancelledError,
  QueryError,
} from "../../src/errors.ts";
import { listenTests } from "./listen.ts";
import { streamTests } from "./streams.ts";
import { valueTests } from "./values.ts";

/** What the adapter under test can do; the suite asserts the clear error where it cannot. */
export interface ConformanceCapabilities {
  /**
   * Cancels a running statement on the server when a query's `timeout` or
   * `signal` fires (`QueryCancelledError`, the server's 57014 as its cause). When false (PGlite runs a
   * statement synchronously on the JavaScript thread: nothing can stop it), the
   * suite asserts that a started statement completes and returns its result,
   * never an error claiming it did not run, and that an aborted one never starts.
   */
  cancel: boolean;
  /** Connections the adapter can hold at most (PGlite: 1); the pool is capped to it. Default: unbounded. */
  maxConnections?: number;
  /**
   * `db.query` inside a `getSession` callback joins the session (needs
   * `AsyncLocalStorage`, installed by the Deno/Node runtime module). Default true.
   */
  scopedSessions?: boolean;
  /** Settings the adapter refuses: each must fail with a `ConfigError` naming `path` before any I/O. */
  refuses?: readonly { settings: Record<string, unknown>; path: string }[];
  /**
   * Builds a `DatabaseConnection` on another server (a throwaway cluster the suite restarts), for the tests that
   * need a server restart; the adapter has no server to restart when unset (PGlite).
   */
  makeDbAt?: (url: string, settings?: Record<string, unknown>) => DatabaseConnection;
  /**
   * Which directions of COPY are paced by the other side: `from`, the source is read no faster than the server
   * takes the data; `to`, the output stays on the server until it is read (a WebSocket cannot be paused; PGlite
   * takes a COPY's input and hands its output over whole). Default neither.
   */
  copyBackpressure?: { readonly from: boolean; readonly to: boolean };
}

/** What the suite's parts share: the adapter's name and capabilities, and how to open a database and a table. */
export interface Conformance {
  /** The adapter's name. */
  name: string;
  /** Its capabilities, defaults filled in. */
  caps: Required<Omit<ConformanceCapabilities, "makeDbAt">> & Pick<ConformanceCapabilities, "makeDbAt">;
  /** Registers a test named `"<adapter>: <title>"`. */
  test: (title: string, fn: () => Promise<void>) => void;
  /** A database with `settings`; close it (`await using`). */
  open: (settings?: Record<string, unknown>) => Promise<DatabaseConnection>;
  /** A table unique to this run, created through `db`, dropped at dispose. */
  table: (db: DatabaseConnection, columns: string) => Promise<TestTable>;
}

/** A table a test created (see {@linkcode Conformance.table}). */
export interface TestTable extends AsyncDisposable {
  /** Its name. */
  name: string;
  /** `count(*)` with an optional condition. */
  count(where?: string): Promise<number>;
}

/**
 * Builds a `DatabaseConnection` for the adapter under test with `settings`
 * (keys of `database.postgres`, such as `pool_max`) on top of its own. The
 * suite closes it (`await using`).
 */
export type MakeDb = (settings?: Record<string, unknown>) => DatabaseConnection | Promise<DatabaseConnection>;

let tables = 0;

/**
 * Registers the conformance tests for one adapter, each named `"<name>: ..."`.
 *
 * @example
 * ```ts ignore
 * runConformance("pglite", (s) => new DatabaseConnection({ postgres: { driver: "pglite", ...s } }), {
 *   cancel: false,
 *   maxConnections: 1,
 * });
 * ```
 */
export function runConformance(name: string, makeDb: MakeDb, capabilities: ConformanceCapabilities): void {
  const shared = conformance(name, makeDb, capabilities);
  const { caps, test, open, table } = shared;

  test("result types: int8/numeric strings, timestamptz Date, json parsed, bytea Uint8Array, arrays", async () => {
    await using db = await open();
    const { rows: [row] } = await db.query(
      `SELECT 9007199254740993::int8 AS big, 1.50::numeric AS num, 42::int4 AS i4, 7::int2 AS i2, 1.5::float8 AS f8,
              '2024-01-02T03:04:05.678Z'::timestamptz AS ts, '{"a":[1,2],"b":null}'::jsonb AS jb, '[1,"x"]'::json AS j,
              '\\x0102ff'::bytea AS b, ARRAY[1,2,3]::int[] AS arr, ARRAY['a','b,c'] AS tarr,
              ARRAY[9007199254740993]::int8[] AS barr, true AS yes, NULL::int AS nothing, 'héllo'::text AS utf,
              ARRAY[1,NULL,3]::int[] AS narr, ARRAY['x',NULL,'NULL','q"z']::text[] AS ntarr,
              ARRAY[[1,2],[3,4]]::int[] AS nested, '{}'::int[] AS earr, ARRAY['\\x01'::bytea] AS byarr`,
    );
    assert.equal(row.big, "9007199254740993");
    assert.equal(row.num, "1.50");
    assert.equal(row.i4, 42);
    assert.equal(row.i2, 7);
    assert.equal(row.f8, 1.5);
    assert.ok(row.ts instanceof Date);
    assert.equal((row.ts as Date).toISOString(), "2024-01-02T03:04:05.678Z");
    assert.deepEqual(row.jb, { a: [1, 2], b: null });
    assert.deepEqual(row.j, [1, "x"]);
    assert.equal(Object.getPrototypeOf(row.b), Uint8Array.prototype);
    assert.deepEqual([...(row.b as Uint8Array)], [1, 2, 255]);
    assert.deepEqual(row.arr, [1, 2, 3]);
    assert.deepEqual(row.tarr, ["a", "b,c"]);
    assert.deepEqual(row.barr, ["9007199254740993"]);
    assert.equal(row.yes, true);
    assert.equal(row.nothing, null);
    assert.equal(row.utf, "héllo");
    assert.deepEqual(row.narr, [1, null, 3]);
    assert.deepEqual(row.ntarr, ["x", null, "NULL", 'q"z']);
    assert.deepEqual(row.nested, [[1, 2], [3, 4]]);
    assert.deepEqual(row.earr, []);
    assert.equal(Object.getPrototypeOf((row.byarr as Uint8Array[])[0]), Uint8Array.prototype);
  });

  test("sessions: commit on return, rollback on throw, await using rolls back unless committed", async () => {
    await using db = await open();
    await using t = await table(db, "v text");
    assert.equal(
      await db.getSession(async (s) => {
        await s.query(`INSERT INTO ${t.name} VALUES ($1)`, ["committed"]);
        return 42;
      }),
      42,
    );
    await assert.rejects(
      db.getSession(async (s) => {
        await s.query(`INSERT INTO ${t.name} VALUES ($1)`, ["thrown"]);
        throw new Error("boom");
      }),
      /boom/,
    );
    {
      await using s = await db.getSession();
      await s.query(`INSERT INTO ${t.name} VALUES ('disposed')`);
    }
    {
      await using s = await db.getSession();
      await s.query(`INSERT INTO ${t.name} VALUES ('explicit')`);
      await s.commit();
      assert.equal(s.state, "committed");
      await assert.rejects(
        s.query("SELECT 1"),
        (e) => e instanceof DatabaseConnectionError && e.code === "SESSION_CLOSED",
      );
    }
    const err = await db.getSession(async (s) => {
      await s.query(`INSERT INTO ${t.name} VALUES ('failed')`);
      await s.query("SELECT 1/0").catch(() => {});
    }).catch((e) => e);
    assert.ok(err instanceof QueryError);
    assert.equal(err.code, "25P02");
    assert.deepEqual(
      (await db.query(`SELECT v FROM ${t.name} ORDER BY v`)).rows.map((r) => r.v),
      ["committed", "explicit"],
    );
    assert.equal(db.stats().inUse, 0);
  });

  test("a session's connection is its own; db.query inside the callback joins it", async () => {
    await using db = await open({ pool_max: 2 });
    await using t = await table(db, "v text");
    await db.getSession(async (s) => {
      await s.query(`INSERT INTO ${t.name} VALUES ('inside')`);
      const mine = await s.query("SELECT pg_backend_pid() AS pid, now() AS at");
      const again = await s.query("SELECT pg_backend_pid() AS pid, now() AS at");
      assert.deepEqual(again.rows, mine.rows); // one connection, one transaction: now() does not move
      if (caps.scopedSessions) {
        assert.equal(db.currentSession(), s);
        assert.equal(await t.count(), 1); // db.query sees the uncommitted row: it runs in the session
      } else {
        assert.equal(db.currentSession(), undefined);
      }
    });
    assert.equal(await t.count(), 1);
  });

  test("savepoints: a nested session rolls back alone", async () => {
    await using db = await open();
    await using t = await table(db, "v text");
    await db.getSession(async (s) => {
      await s.query(`INSERT INTO ${t.name} VALUES ('outer')`);
      await assert.rejects(
        s.getSession(async (inner) => {
          assert.equal(inner.depth, 1);
          await inner.query(`INSERT INTO ${t.name} VALUES ('inner')`);
          await inner.query("SELECT 1/0");
        }),
        (e: QueryError) => e.code === "22012",
      );
      await s.getSession(async (inner) => {
        await inner.query(`INSERT INTO ${t.name} VALUES ('inner2')`);
        await inner.getSession(async (deeper) => {
          await deeper.query(`INSERT INTO ${t.name} VALUES ('deeper')`);
        });
      });
      await s.query(`INSERT INTO ${t.name} VALUES ('outer2')`);
    });
    assert.deepEqual(
      (await db.query(`SELECT v FROM ${t.name} ORDER BY v`)).rows.map((r) => r.v),
      ["deeper", "inner2", "outer", "outer2"],
    );
  });

  test("isolation levels and read-only sessions", async () => {
    await using db = await open({ pool_max: 2 });
    await using t = await table(db, "v text");
    for (const level of ["read committed", "repeatable read", "serializable"] as const) {
      const iso = await db.getSession(
        async (s) => (await s.query("SELECT current_setting('transaction_isolation') AS iso")).rows[0].iso,
        { isolation: level },
      );
      assert.equal(iso, level);
    }
    const ro = await db.getSession(async (s) => {
      await s.query(`INSERT INTO ${t.name} VALUES ('ro')`);
    }, { readOnly: true }).catch((e) => e);
    assert.ok(ro instanceof QueryError);
    assert.equal(ro.code, "25006");
    if (caps.maxConnections >= 2) {
      // A repeatable-read snapshot does not see a row committed after it started.
      await using s = await db.getSession({ isolation: "repeatable read" });
      assert.equal((await s.query(`SELECT count(*) AS n FROM ${t.name}`)).rows[0].n, "0");
      await db.getSession(async (w) => void await w.query(`INSERT INTO ${t.name} VALUES ('later')`));
      assert.equal((await s.query(`SELECT count(*) AS n FROM ${t.name}`)).rows[0].n, "0");
      await s.commit();
      assert.equal(await t.count(), 1);
    }
  });

  test("errors carry SQLSTATE, detail, constraint and position; the connection stays usable", async () => {
    await using db = await open({ pool_max: 1 });
    await using t = await table(db, "id int PRIMARY KEY");
    const syntax = await db.query("SELEC 1").catch((e) => e);
    assert.ok(syntax instanceof QueryError);
    assert.equal(syntax.code, "42601");
    assert.equal(syntax.position, 1);
    await db.query(`INSERT INTO ${t.name} VALUES (1)`);
    const dup = await db.query(`INSERT INTO ${t.name} VALUES ($1)`, [1]).catch((e) => e);
    assert.ok(dup instanceof QueryError);
    assert.equal(dup.code, "23505");
    assert.match(dup.detail ?? "", /already exists/);
    assert.equal(dup.constraint, `${t.name}_pkey`);
    const missing = await db.query("SELECT * FROM dewey_no_such_table").catch((e) => e);
    assert.ok(missing instanceof QueryError);
    assert.equal(missing.code, "42P01");
    const param = await db.query("SELECT $1::int AS n", ["not a number"]).catch((e) => e);
    assert.ok(param instanceof QueryError);
    assert.equal(param.code, "22P02");
    assert.deepEqual((await db.query("SELECT 1 AS one")).rows, [{ one: 1 }]);
    assert.equal(db.stats().opened, 1);
  });

  test("timeouts and aborts: one QueryCancelledError with code, phase and reachedServer, whatever the timing", async () => {
    await using db = await open({ pool_max: 1 });
    await db.query("SELECT 1"); // the pool's one connection is open and free
    // Aborted before it started: nothing is sent, the connection stays free.
    const reason = new Error("gave up");
    const early = await db.query("SELECT 1", [], { signal: AbortSignal.abort(reason) }).catch((e) => e);
    assert.ok(early instanceof QueryCancelledError, String(early));
    assert.deepEqual([early.code, early.phase, early.reachedServer, early.cause], [
      "QUERY_ABORTED",
      "queued",
      false,
      reason,
    ]);
    // Timed out while waiting for a connection (the one connection is leased).
    const held = await db.getSession();
    const queued = await db.query("SELECT 1", [], { timeout: 100 }).catch((e) => e);
    await held.rollback();
    assert.ok(queued instanceof QueryCancelledError, String(queued));
    assert.deepEqual([queued.code, queued.phase, queued.reachedServer], ["QUERY_TIMEOUT", "queued", false]);
    assert.match(queued.message, /timed out after 100 ms/);
    if (!caps.cancel) {
      // A started statement cannot be stopped: it completes and returns its result, never an error claiming it
      // did not run.
      const done = await db.query("SELECT pg_sleep(0.2), 'done' AS r", [], { timeout: 50 });
      assert.equal(done.rows[0].r, "done");
      assert.deepEqual((await db.query("SELECT 2 AS two")).rows, [{ two: 2 }]);
      return;
    }
    const started = performance.now();
    const err = await db.query("SELECT pg_sleep(10)", [], { timeout: 150 }).catch((e) => e);
    assert.ok(performance.now() - started < 8_000, "the timed-out statement did not hang");
    assert.ok(err instanceof QueryCancelledError, String(err));
    assert.deepEqual([err.code, err.phase, err.reachedServer], ["QUERY_TIMEOUT", "running", true]);
    assert.ok(err.cause instanceof QueryError && err.cause.code === "57014", "cancelled on the server: 57014");
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const aborted = await db.query("SELECT pg_sleep(10)", [], { signal: ac.signal }).catch((e) => e);
    assert.ok(aborted instanceof QueryCancelledError, String(aborted));
    assert.deepEqual([aborted.code, aborted.phase, aborted.reachedServer], ["QUERY_ABORTED", "running", true]);
    // The connection survives a cancel and serves the next statement.
    assert.deepEqual((await db.query("SELECT 2 AS two")).rows, [{ two: 2 }]);
    assert.equal(db.stats().opened, 1);
  });

  test("pool limits: pool_max is never exceeded and a waiter times out with PoolTimeoutError", async () => {
    const limit = Math.min(2, caps.maxConnections);
    await using db = await open({ pool_max: 2, pool_acquire_timeout: "300ms" });
    const held = [];
    for (let i = 0; i < limit; i++) held.push(await db.getSession());
    const err = await db.getSession().catch((e) => e);
    assert.ok(err instanceof PoolTimeoutError, String(err));
    assert.equal(err.max, limit);
    assert.equal(err.inUse, limit);
    for (const s of held) await s.rollback();
    // 20 concurrent statements on the same small pool all complete.
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => db.query("SELECT $1::int AS i", [i]).then((r) => r.rows[0].i)),
    );
    assert.deepEqual(results, Array.from({ length: 20 }, (_, i) => i));
    assert.ok(db.stats().total <= limit);
    assert.ok(db.stats().opened <= limit);
  });

  test("close: waits for checked-out work, then refuses new work with POOL_CLOSED", async () => {
    const db = await open();
    await using t = await table(db, "v text").then((x) => ({ ...x, [Symbol.asyncDispose]: async () => {} }));
    const session = await db.getSession();
    await session.query(`INSERT INTO ${t.name} VALUES ('before close')`);
    let closed = false;
    const closing = db.close().then(() => closed = true);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(closed, false, "close waits for the open session");
    await session.commit();
    await closing;
    assert.equal(db.stats().total, 0);
    const after = await db.query("SELECT 1").catch((e) => e);
    assert.ok(after instanceof DatabaseConnectionError);
    assert.equal(after.code, "POOL_CLOSED");
    await db.close(); // idempotent
    await using check = await open();
    assert.equal(Number((await check.query(`SELECT count(*) AS n FROM ${t.name}`)).rows[0].n), 1);
    await check.query(`DROP TABLE ${t.name}`);
  });

  valueTests(shared);
  streamTests(shared);
  listenTests(shared);

  for (const refused of caps.refuses) {
    test(`refuses ${JSON.stringify(refused.settings)} with a ConfigError naming ${refused.path}`, async () => {
      await using db = await open(refused.settings);
      const err = await db.query("SELECT 1").catch((e) => e);
      assert.ok(err instanceof ConfigError, String(err));
      assert.ok(err.issues.some((i) => i.path === refused.path), err.message);
      assert.equal(db.stats().opened, 0);
    });
  }
}

/**
 * Registers the value tests alone (values.ts: parameters, row and type modes) and the stream tests (streams.ts:
 * cursors, COPY), each named `"<name>: ..."`: for another configuration of an adapter whose whole suite runs
 * elsewhere.
 *
 * @example
 * ```ts ignore
 * runValueConformance("postgres prepare=false", (s) => testDb({ prepare: false, ...s }), { cancel: true });
 * ```
 */
export function runValueConformance(name: string, makeDb: MakeDb, capabilities: ConformanceCapabilities): void {
  const shared = conformance(name, makeDb, capabilities);
  valueTests(shared);
  streamTests(shared);
}

/** What the suite's parts share, for one adapter. */
function conformance(name: string, makeDb: MakeDb, capabilities: ConformanceCapabilities): Conformance {
  const caps = {
    maxConnections: Infinity,
    scopedSessions: true,
    refuses: [],
    copyBackpressure: { from: false, to: false },
    ...capabilities,
  };
  const test = (title: string, fn: () => Promise<void>) => Deno.test(`${name}: ${title}`, fn);
  const open = async (settings: Record<string, unknown> = {}) => await makeDb(settings);

  /** A table unique to this run, created through the database under test, dropped at dispose. */
  const table = async (db: DatabaseConnection, columns: string): Promise<TestTable> => {
    const t = `dewey_conf_${name.replace(/\W/g, "_")}_${Deno.pid}_${++tables}`;
    await db.query(`DROP TABLE IF EXISTS ${t}`);
    await db.query(`CREATE TABLE ${t} (${columns})`);
    return {
      name: t,
      count: async (where = "true") =>
        Number((await db.query(`SELECT count(*) AS n FROM ${t} WHERE ${where}`)).rows[0].n),
      [Symbol.asyncDispose]: async () => void await db.query(`DROP TABLE IF EXISTS ${t}`),
    };
  };
  return { name, caps, test, open, table };
}
