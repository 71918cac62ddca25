/**
 * The driver contract (`Driver`, `DriverConnection` in src/contracts.ts),
 * executable: run against a bare `Driver`, no pool, for every adapter and for
 * the fake driver the pool's unit tests use. A third-party adapter can run it
 * too.
 *
 * ```ts ignore
 * import { runDriverContract } from "./conformance/driver_suite.ts";
 * runDriverContract("postgres", harness);
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import type { DatabaseConfig } from "../../src/config/types.ts";
import type { ConnectRequest, Driver, DriverConnection } from "../../src/contracts.ts";
import { DatabaseConnectionError, QueryError } from "../../src/errors.ts";

/** What the suite needs to know and do for one adapter. */
export interface DriverHarness {
  /** The driver under test, built once for the suite. */
  driver(): Driver | Promise<Driver>;
  /** Configuration, host and port of a database that accepts connections. */
  target(): { config: DatabaseConfig; host: string; port: number };
  /**
   * A target whose connection the server accepts and then refuses during startup (no such database), or undefined
   * when the adapter has no startup to fail (the fake driver fails its connects with `connectError` instead).
   */
  failingTarget?(): { config: DatabaseConfig; host: string; port: number };
  /** Ends `conn` from the server's side (`pg_terminate_backend`, closing the embedded database...). */
  kill(conn: DriverConnection): Promise<void>;
  /** Whether a running statement can be cancelled on the server (PGlite runs it on the JavaScript thread: no). */
  cancel: boolean;
  /** Whether statements are real SQL (not for the fake driver): the normalisation table runs. */
  sql: boolean;
  /** Makes the next `connect` fail before the connection is accepted (the fake driver's stand-in for a bad target). */
  failNextConnect?(): () => void;
}

/**
 * The normalisation table: each expression, and the value every adapter returns for it. Values are what the
 * `QueryResult` doc promises: int8 and numeric as strings, timestamptz as `Date`, json/jsonb parsed, bytea as a
 * plain `Uint8Array`, arrays as arrays.
 */
export const NORMALISED: readonly (readonly [sql: string, value: unknown, oid: number])[] = [
  ["9007199254740993::int8", "9007199254740993", 20],
  ["1.50::numeric", "1.50", 1700],
  ["42::int4", 42, 23],
  ["7::int2", 7, 21],
  ["1.5::float8", 1.5, 701],
  ["true", true, 16],
  ["NULL::int4", null, 23],
  ["'héllo'::text", "héllo", 25],
  ["'2024-01-02T03:04:05.678Z'::timestamptz", new Date("2024-01-02T03:04:05.678Z"), 1184],
  [`'{"a":[1,2],"b":null}'::jsonb`, { a: [1, 2], b: null }, 3802],
  [`'[1,"x"]'::json`, [1, "x"], 114],
  ["'\\x0102ff'::bytea", new Uint8Array([1, 2, 255]), 17],
  ["ARRAY[1,2,3]::int4[]", [1, 2, 3], 1007],
  ["ARRAY['a','b,c']::text[]", ["a", "b,c"], 1009],
  ["ARRAY[9007199254740993]::int8[]", ["9007199254740993"], 1016],
  ["ARRAY[1,NULL,3]::int4[]", [1, null, 3], 1007],
  [`ARRAY['x',NULL,'NULL','q"z']::text[]`, ["x", null, "NULL", 'q"z'], 1009],
  ["ARRAY[[1,2],[3,4]]::int4[]", [[1, 2], [3, 4]], 1007],
  ["'{}'::int4[]", [], 1007],
  ["ARRAY['\\x01'::bytea]", [new Uint8Array([1])], 1001],
];

/**
 * Registers the contract's tests for one adapter, each named `"<name> driver: ..."`.
 *
 * @example
 * ```ts ignore
 * runDriverContract("fake", { driver: () => new FakeDriver(), target: ..., kill: (c) => ..., cancel: true, sql: false });
 * ```
 */
export function runDriverContract(name: string, harness: DriverHarness): void {
  const test = (title: string, fn: () => Promise<void>) => Deno.test(`${name} driver: ${title}`, fn);
  let driver: Promise<Driver> | undefined;
  const getDriver = () => driver ??= Promise.resolve(harness.driver());

  /** Opens one connection, counting its onClose calls. */
  const open = async (target = harness.target(), signal = new AbortController().signal) => {
    const closes: (Error | undefined)[] = [];
    let accepted = false;
    let early = false;
    const request: ConnectRequest = {
      ...target,
      signal,
      onClose: (error) => {
        if (!accepted) early = true;
        closes.push(error);
      },
    };
    const conn = await (await getDriver()).connect(request);
    accepted = true;
    return { conn, closes, early: () => early };
  };
  const settleClose = (conn: DriverConnection, closes: unknown[]) =>
    waitUntil(() => conn.closed && closes.length > 0, "the connection to be known closed");

  test("a statement on a closed connection fails with reachedServer: false, and nothing is sent", async () => {
    const { conn } = await open();
    assert.equal(conn.closed, false);
    await conn.close();
    assert.equal(conn.closed, true);
    const err = await conn.query("SELECT 1").catch((e) => e);
    assert.ok(err instanceof DatabaseConnectionError, String(err));
    assert.equal(err.reachedServer, false);
    assert.ok(err.retryable);
    await conn.close(); // closing twice is harmless
  });

  test("onClose never fires for a connection that was not accepted", async () => {
    const driver = await getDriver();
    let calls = 0;
    const failing = harness.failingTarget?.();
    const restore = failing ? undefined : harness.failNextConnect?.();
    if (failing || restore) {
      const target = failing ?? harness.target();
      const err = await driver.connect({ ...target, signal: new AbortController().signal, onClose: () => calls++ })
        .catch((e) => e);
      restore?.();
      assert.ok(err instanceof Error, "the connect failed");
    }
    // An attempt aborted by its signal (connect_timeout, the pool closing) does not report a close either.
    const aborted = await driver.connect({ ...harness.target(), signal: AbortSignal.abort(), onClose: () => calls++ })
      .catch((e) => e);
    assert.ok(aborted instanceof Error, "an aborted connect fails");
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(calls, 0);
  });

  test("a statement whose signal aborted before it was sent is not sent: it rejects with the signal's reason", async () => {
    const { conn } = await open();
    try {
      const reason = new Error("gave up");
      const err = await conn.query("SELECT 1", [], AbortSignal.abort(reason)).catch((e) => e);
      assert.equal(err, reason);
      assert.deepEqual((await conn.query("SELECT 2 AS two")).rows.length, 1, "the connection is still usable");
    } finally {
      await conn.close();
    }
  });

  test(
    harness.cancel
      ? "an abort cancels the running statement on the server (57014), and no other statement"
      : "an abort cannot stop a running statement: it completes with its result",
    async () => {
      const { conn } = await open();
      try {
        const sleep = harness.sql ? "SELECT pg_sleep(10)" : "SELECT 1";
        const ctl = new AbortController();
        const started = performance.now();
        setTimeout(() => ctl.abort(), 100);
        if (harness.cancel) {
          const err = await conn.query(harness.sql ? sleep : "SLOW", [], ctl.signal).catch((e) => e);
          assert.ok(err instanceof QueryError && err.code === "57014", String(err));
          assert.ok(performance.now() - started < 8_000, "cancelled, not run to its end");
          // Aborts racing statements that end at about the same time: the cancel never lands on the next one.
          for (let i = 0; i < 20; i++) {
            const racing = new AbortController();
            setTimeout(() => racing.abort(), 2 + (i % 5));
            await conn.query(harness.sql ? `SELECT pg_sleep(${0.001 * (i % 7)})` : "SLOW", [], racing.signal)
              .catch((e) => assert.ok(e instanceof QueryError && e.code === "57014", String(e)));
            await conn.query(harness.sql ? "SELECT pg_sleep(0.005)" : "SELECT 1");
          }
        } else {
          const done = await conn.query("SELECT pg_sleep(0.3), 'done' AS r", [], ctl.signal);
          assert.equal(done.rows[0].r, "done");
        }
        assert.equal(conn.closed, false, "a cleanly cancelled connection stays open");
      } finally {
        await conn.close();
      }
    },
  );

  if (harness.sql) registerSqlTests(name, test, open);

  // Last: on PGlite, ending the connection from the other side closes the embedded database.
  test("onClose fires once when the server ends the connection; later statements fail unsent", async () => {
    const { conn, closes, early } = await open();
    await conn.query("SELECT 1");
    await harness.kill(conn);
    // The adapter learns of the close from the server, or at the latest from the next statement.
    await conn.query("SELECT 1").catch(() => {});
    await settleClose(conn, closes);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(closes.length, 1, "onClose fired once");
    assert.equal(early(), false);
    const err = await conn.query("SELECT 1").catch((e) => e);
    assert.ok(err instanceof DatabaseConnectionError && err.reachedServer === false, String(err));
    await conn.close();
    assert.equal(closes.length, 1, "close() after the loss does not report it again");
  });
}

function registerSqlTests(
  name: string,
  test: (title: string, fn: () => Promise<void>) => void,
  open: () => Promise<{ conn: DriverConnection }>,
): void {
  test("the normalisation table: the same values on every adapter", async () => {
    const { conn } = await open();
    try {
      const { rows: [row], fields } = await conn.query(
        `SELECT ${NORMALISED.map(([sql], i) => `${sql} AS c${i}`).join(", ")}`,
      );
      NORMALISED.forEach(([sql, value, oid], i) => {
        const got = row[`c${i}`];
        assert.deepEqual(got, value, `${sql}: ${Deno.inspect(got)}`);
        if (value instanceof Uint8Array) assert.equal(Object.getPrototypeOf(got), Uint8Array.prototype, sql);
        assert.equal(fields[i].dataTypeID, oid, `${sql}: type OID`);
      });
      assert.equal(Object.getPrototypeOf(row), Object.prototype, "rows are plain objects");
    } finally {
      await conn.close();
    }
  });

  test("results: command verb, rowCount from the tag, fields, the last result of several statements", async () => {
    const { conn } = await open();
    try {
      const t = `dewey_driver_${name.replace(/\W/g, "_")}_${Deno.pid}`;
      await conn.query(`CREATE TEMP TABLE ${t} (id int, v text)`);
      const ins = await conn.query(`INSERT INTO ${t} VALUES ($1, 'a'), ($2, 'b'), ($3, 'c')`, [1, 2, 3]);
      assert.deepEqual([ins.command, ins.rowCount, ins.rows], ["INSERT", 3, []]);
      const upd = await conn.query(`UPDATE ${t} SET v = upper(v) WHERE id > $1`, [1]);
      assert.deepEqual([upd.command, upd.rowCount], ["UPDATE", 2]);
      const sel = await conn.query(`SELECT id, v FROM ${t} WHERE id = $1`, [2]);
      assert.deepEqual([sel.command, sel.rowCount, sel.rows], ["SELECT", 1, [{ id: 2, v: "B" }]]);
      assert.deepEqual(sel.fields.map((f) => [f.name, f.dataTypeID]), [["id", 23], ["v", 25]]);
      const empty = await conn.query(`SELECT v FROM ${t} WHERE false`);
      assert.deepEqual([empty.rows, empty.rowCount, empty.fields.map((f) => f.name)], [[], 0, ["v"]]);
      const multi = await conn.query("SELECT 1 AS one; SELECT 2 AS two");
      assert.deepEqual(multi.rows, [{ two: 2 }]);
      const err = await conn.query("SELECT 1/0").catch((e) => e);
      assert.ok(err instanceof QueryError && err.code === "22012", String(err));
      assert.equal(conn.closed, false, "a statement's error leaves the connection usable");
      const when = new Date("2024-05-06T07:08:09.123Z");
      const { rows: [p] } = await conn.query(
        "SELECT $1::timestamptz AS ts, $2::bytea AS b, $3::int8 AS big, $4::jsonb AS j, $5::int4[] AS arr",
        [when, new Uint8Array([0, 255]), 9007199254740993n, { k: "v" }, [1, 2]],
      );
      assert.deepEqual(p, {
        ts: when,
        b: new Uint8Array([0, 255]),
        big: "9007199254740993",
        j: { k: "v" },
        arr: [1, 2],
      });
    } finally {
      await conn.close();
    }
  });
}

async function waitUntil(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
