// The PGlite adapter through the public API. Opening PGlite runs initdb (~3-5 s, ~0.7 GB), so this file opens
// one database, in a temp data directory, and shares it; the last test closes it and reopens it through the adapter.
import assert from "node:assert/strict";
import { PGlite } from "@electric-sql/pglite";
import { getConnection } from "../mod.ts";
import { createDriver } from "../adapters/pglite.ts";
import { parseConfig } from "../src/config/parse.ts";
import { DatabaseConnection } from "../mod.ts";
import type { DriverConnection } from "../src/contracts.ts";
import { DatabaseConnectionError, QueryCancelledError, QueryError } from "../src/errors.ts";

const dir = await Deno.makeTempDir({ prefix: "dewey-pglite-test-" });
const shared = new PGlite({ dataDir: dir });
await shared.waitReady;

/** A DatabaseConnection on the shared database. */
function sharedDb(settings: Record<string, unknown> = {}): DatabaseConnection {
  return new DatabaseConnection({
    postgres: { driver: "pglite", health_check_interval: 0, connect_timeout: "60s", ...settings },
  }, { driver: (config) => createDriver(config, { instance: shared }), logger: false });
}

/** One driver-level connection on the shared database. */
async function rawConnect(): Promise<DriverConnection> {
  const config = parseConfig("pglite://memory", { env: {} });
  return (await createDriver(config, { instance: shared })).connect({
    config,
    host: config.host,
    port: config.port,
    signal: new AbortController().signal,
    onClose: () => {},
  });
}

await shared.exec("CREATE TABLE items (id serial PRIMARY KEY, v text NOT NULL); CREATE TABLE counter (n int)");
await shared.exec("INSERT INTO counter VALUES (0)");

Deno.test("pglite URLs and config select the adapter", () => {
  const memory = parseConfig("pglite://memory", { env: {} });
  assert.equal(memory.driver, "pglite");
  assert.equal(memory.data_dir, undefined);
  assert.equal(String(memory), "pglite://memory");
  const onDisk = parseConfig("pglite:///var/lib/app/db", { env: {} });
  assert.equal(onDisk.data_dir, "/var/lib/app/db");
  assert.equal(parseConfig({ postgres: { driver: "pglite", dataDir: "./db" } }, { env: {} }).data_dir, "./db");
});

Deno.test("results are normalised like the postgres.js adapter", async () => {
  await using db = sharedDb();
  const { rows: [row], command, rowCount, fields } = await db.query(
    `SELECT 9007199254740993::int8 AS big, 1.50::numeric AS num, '2024-01-02T03:04:05Z'::timestamptz AS ts,
            '{"a":[1,2]}'::jsonb AS j, '\\x0102ff'::bytea AS b, ARRAY[1,2,3]::int[] AS arr, ARRAY['a','b'] AS tarr,
            ARRAY[1,2]::int8[] AS barr, true AS yes, NULL::int AS nothing, count(*) AS n`,
  );
  assert.equal(command, "SELECT");
  assert.equal(rowCount, 1);
  assert.deepEqual(fields.map((f) => f.name).slice(0, 3), ["big", "num", "ts"]);
  assert.equal(row.big, "9007199254740993");
  assert.equal(row.num, "1.50");
  assert.ok(row.ts instanceof Date);
  assert.equal((row.ts as Date).toISOString(), "2024-01-02T03:04:05.000Z");
  assert.deepEqual(row.j, { a: [1, 2] });
  assert.ok(row.b instanceof Uint8Array);
  assert.deepEqual([...(row.b as Uint8Array)], [1, 2, 255]);
  assert.deepEqual(row.arr, [1, 2, 3]);
  assert.deepEqual(row.tarr, ["a", "b"]);
  assert.deepEqual(row.barr, ["1", "2"]);
  assert.equal(row.yes, true);
  assert.equal(row.nothing, null);
  assert.equal(row.n, "1");
  const id = 41;
  assert.deepEqual(await db.sql`SELECT ${id}::int + 1 AS next, ${"x"}::text AS s`, [{ next: 42, s: "x" }]);
  const ins = await db.query("INSERT INTO items (v) VALUES ('a'), ('b')");
  assert.equal(ins.command, "INSERT");
  assert.equal(ins.rowCount, 2);
  // Without parameters several statements may be sent at once; the last one's result comes back.
  const multi = await db.query("UPDATE items SET v = v WHERE v = 'a'; SELECT count(*)::int AS n FROM items");
  assert.deepEqual(multi.rows, [{ n: 2 }]);
});

Deno.test("server errors become QueryError with SQLSTATE, position, detail; the connection stays usable", async () => {
  await using db = sharedDb();
  const syntax = await db.query("SELEC 1").catch((e) => e);
  assert.ok(syntax instanceof QueryError);
  assert.equal(syntax.code, "42601");
  assert.equal(syntax.position, 1);
  const dup = await db.query("INSERT INTO items (id, v) VALUES ($1, 'x'), ($1, 'x')", [1000]).catch((e) => e);
  assert.ok(dup instanceof QueryError);
  assert.equal(dup.code, "23505");
  assert.match(dup.detail ?? "", /already exists/);
  assert.equal(dup.constraint, "items_pkey");
  assert.deepEqual((await db.query("SELECT 1 AS one")).rows, [{ one: 1 }]);
  assert.equal(db.stats().opened, 1);
});

Deno.test("sessions: commit, rollback on throw, savepoint rolled back alone, read-only", async () => {
  await using db = sharedDb();
  await db.getSession(async (s) => {
    await s.query("INSERT INTO items (v) VALUES ('committed')");
    await s.getSession(async (inner) => {
      await inner.query("INSERT INTO items (v) VALUES ('savepoint')");
      throw new Error("undo the savepoint");
    }).catch(() => {});
    // Scoped: db.query inside the callback joins this transaction.
    const { rows } = await db.query("SELECT count(*)::int AS n FROM items WHERE v = 'committed'");
    assert.equal(rows[0].n, 1);
  });
  await assert.rejects(
    db.getSession(async (s) => {
      await s.query("INSERT INTO items (v) VALUES ('rolled back')");
      throw new Error("boom");
    }),
    /boom/,
  );
  {
    await using s = await db.getSession();
    await s.query("INSERT INTO items (v) VALUES ('disposed')");
  }
  const seen = await db.sql<
    { v: string }
  >`SELECT v FROM items WHERE v IN ('committed', 'savepoint', 'rolled back', 'disposed')`;
  assert.deepEqual(seen.map((r) => r.v), ["committed"]);
  const ro = await db.getSession(
    (s) => s.query("INSERT INTO items (v) VALUES ('ro')"),
    { readOnly: true, isolation: "serializable" },
  ).catch((e) => e);
  assert.ok(ro instanceof QueryError);
  assert.equal(ro.code, "25006");
});

Deno.test("one connection whatever pool_max says: concurrent sessions are serialised onto it", async () => {
  await using db = sharedDb({ pool_max: 10, pool_min: 3 });
  await db.validateConnection();
  assert.equal(db.stats().max, 1);
  assert.equal(db.stats().min, 1);
  // Read-modify-write without locks loses updates under real concurrency; serialised, every increment lands.
  await Promise.all(Array.from({ length: 20 }, () =>
    db.getSession(async (s) => {
      const [{ n }] = await s.sql<{ n: number }>`SELECT n FROM counter`;
      await new Promise((r) => setTimeout(r, 1));
      await s.sql`UPDATE counter SET n = ${n + 1}`;
    })));
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => db.query("SELECT $1::int AS i", [i])));
  assert.deepEqual(results.map((r) => r.rows[0].i), Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual(await db.sql`SELECT n FROM counter`, [{ n: 20 }]);
  const stats = db.stats();
  assert.equal(stats.opened, 1);
  assert.equal(stats.total, 1);
  const health = await db.health();
  assert.equal(health.status, "healthy");
  assert.match(health.serverVersion ?? "", /^1[89]\./);
  assert.deepEqual(health.tls, { enabled: false });
});

Deno.test("a closed connection leaves no transaction or session state behind for the next one", async () => {
  const first = await rawConnect();
  await first.query("BEGIN");
  await first.query("INSERT INTO items (v) VALUES ('uncommitted')");
  await first.query("SET application_name = 'leftover'");
  await first.query("CREATE TEMP TABLE scratch (x int)");
  await first.close();
  assert.equal(first.closed, true);
  await assert.rejects(
    first.query("SELECT 1"),
    (e) => e instanceof DatabaseConnectionError && e.reachedServer === false,
  );
  const next = await rawConnect();
  const { rows } = await next.query(
    "SELECT (SELECT count(*)::int FROM items WHERE v = 'uncommitted') AS n, current_setting('application_name') AS app, " +
      "to_regclass('pg_temp.scratch') IS NULL AS gone",
  );
  assert.deepEqual(rows, [{ n: 0, app: "dewey", gone: true }]);
  assert.match(next.info.serverVersion ?? "", /^\d+\.\d+/);
  await next.close();
});

Deno.test("abort: a statement still queued gives up at once, unsent (the signal's reason); one running finishes", async () => {
  const conn = await rawConnect();
  const ctl = new AbortController();
  const running = conn.query("SELECT pg_sleep(0.05), 'done' AS r");
  const queued = conn.query("INSERT INTO items (v) VALUES ('never')", [], ctl.signal);
  const reason = new Error("gave up");
  ctl.abort(reason);
  assert.equal(await queued.catch((e) => e), reason);
  assert.equal((await running).rows[0].r, "done");
  assert.deepEqual((await conn.query("SELECT count(*)::int AS n FROM items WHERE v = 'never'")).rows, [{ n: 0 }]);
  await conn.close();

  // A deadline that passes while an earlier statement blocks the thread drops the statement queued behind it.
  const blocking = await rawConnect();
  const first = blocking.query("SELECT pg_sleep(0.1), 'first' AS r");
  const late = blocking.query("INSERT INTO items (v) VALUES ('late')", [], AbortSignal.timeout(20)).catch((e) => e);
  assert.equal((await first).rows[0].r, "first");
  const lateErr = await late;
  assert.ok(lateErr instanceof DOMException && lateErr.name === "TimeoutError", String(lateErr));
  assert.deepEqual((await blocking.query("SELECT count(*)::int AS n FROM items WHERE v = 'late'")).rows, [{ n: 0 }]);
  await blocking.close();

  // Through the pool: one QueryCancelledError, never sent.
  await using db = sharedDb();
  const already = AbortSignal.abort(new Error("gave up"));
  const viaDb = await db.query("SELECT 1", [], { signal: already }).catch((e) => e);
  assert.ok(viaDb instanceof QueryCancelledError, String(viaDb));
  assert.deepEqual([viaDb.code, viaDb.reachedServer], ["QUERY_ABORTED", false]);
  const expired = AbortSignal.abort(new DOMException("signal timed out", "TimeoutError")); // as AbortSignal.timeout() does
  const timedOut = await db.query("SELECT 1", [], { signal: expired }).catch((e) => e);
  assert.ok(timedOut instanceof QueryCancelledError && timedOut.code === "QUERY_TIMEOUT", String(timedOut));
  assert.deepEqual((await db.query("SELECT 2 AS two")).rows, [{ two: 2 }]);
});

Deno.test("data_dir: data persists; a directory open twice and an unusable one fail clearly", async () => {
  await shared.close(); // the adapter reopens the same directory itself (~0.5 s: no initdb)
  const url = `pglite://${dir}`;
  const db = await getConnection(url, { logger: false });
  try {
    assert.equal(db.config.data_dir, dir);
    const { rows } = await db.query("SELECT v FROM items WHERE v = 'committed'");
    assert.deepEqual(rows, [{ v: "committed" }]);
    const twice = await getConnection(url, { logger: false }).catch((e) => e);
    assert.ok(twice instanceof DatabaseConnectionError);
    assert.equal(twice.code, "PGLITE_IN_USE");
    assert.match(twice.message, /already open in this process/);
  } finally {
    await db.close();
  }
  const bad = await getConnection(`pglite://${dir}/missing/parent/db`, { logger: false }).catch((e) => e);
  assert.ok(bad instanceof DatabaseConnectionError);
  assert.equal(bad.code, "PGLITE_OPEN");
  assert.match(bad.message, /could not open the PGlite database in .*missing/);
  await Deno.remove(dir, { recursive: true });
});
