// Integration tests of the core over postgres.js against the local PostgreSQL.
import assert from "node:assert/strict";
import { DatabaseConnectionError, PoolTimeoutError, QueryCancelledError, QueryError } from "../src/errors.ts";
import { admin, appName, backends, testDb, waitFor } from "./helpers/db.ts";

const sql = admin();
const table = `dewey_core_${Deno.pid}`;
await sql.unsafe(`DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (id serial PRIMARY KEY, v text NOT NULL)`);
const count = async (v: string) =>
  (await sql.unsafe(`SELECT count(*)::int AS n FROM ${table} WHERE v = $1`, [v]))[0].n as number;

Deno.test("query and sql: results, parameters, command, rowCount", async () => {
  await using db = testDb();
  const r = await db.query("SELECT $1::int AS n, $2::text AS s", [1, "x"]);
  assert.deepEqual(r.rows, [{ n: 1, s: "x" }]);
  assert.equal(r.command, "SELECT");
  assert.equal(r.rowCount, 1);
  assert.deepEqual(r.fields.map((f) => f.name), ["n", "s"]);
  const id = 7;
  const rows = await db.sql`SELECT ${id}::int + 1 AS next`;
  assert.deepEqual(rows, [{ next: 8 }]);
  const ins = await db.query(`INSERT INTO ${table} (v) VALUES ('rc'), ('rc')`);
  assert.equal(ins.command, "INSERT");
  assert.equal(ins.rowCount, 2);
});

Deno.test("result values are normalised: int8/numeric strings, timestamptz Date, json parsed, bytea Uint8Array, arrays", async () => {
  await using db = testDb();
  const { rows: [row] } = await db.query(
    `SELECT 9007199254740993::int8 AS big, 1.50::numeric AS num, '2024-01-02T03:04:05Z'::timestamptz AS ts,
            '{"a":[1,2]}'::jsonb AS j, '\\x0102ff'::bytea AS b, ARRAY[1,2,3]::int[] AS arr, ARRAY['a','b'] AS tarr,
            true AS yes, NULL::int AS nothing`,
  );
  assert.equal(row.big, "9007199254740993");
  assert.equal(row.num, "1.50");
  assert.ok(row.ts instanceof Date);
  assert.equal((row.ts as Date).toISOString(), "2024-01-02T03:04:05.000Z");
  assert.deepEqual(row.j, { a: [1, 2] });
  assert.ok(row.b instanceof Uint8Array);
  assert.equal(Object.getPrototypeOf(row.b), Uint8Array.prototype);
  assert.deepEqual([...(row.b as Uint8Array)], [1, 2, 255]);
  assert.deepEqual(row.arr, [1, 2, 3]);
  assert.deepEqual(row.tarr, ["a", "b"]);
  assert.equal(row.yes, true);
  assert.equal(row.nothing, null);
});

Deno.test("query errors keep SQLSTATE, message, detail and position; the connection stays usable", async () => {
  await using db = testDb({ pool_max: 1 });
  const err = await db.query("SELEC 1").catch((e) => e);
  assert.ok(err instanceof QueryError);
  assert.equal(err.code, "42601");
  assert.equal(err.position, 1);
  const dup = await db.query(`INSERT INTO ${table} (id, v) VALUES (1, 'a'), (1, 'a')`).catch((e) => e);
  assert.ok(dup instanceof QueryError);
  assert.equal(dup.code, "23505");
  assert.match(dup.detail ?? "", /already exists/);
  assert.equal(dup.constraint, `${table}_pkey`);
  assert.deepEqual((await db.query("SELECT 1 AS one")).rows, [{ one: 1 }]);
  assert.equal(db.stats().opened, 1);
});

Deno.test("getSession commits on return and rolls back on throw", async () => {
  await using db = testDb();
  const value = await db.getSession(async (s) => {
    await s.query(`INSERT INTO ${table} (v) VALUES ($1)`, ["committed"]);
    return 42;
  });
  assert.equal(value, 42);
  assert.equal(await count("committed"), 1);
  await assert.rejects(
    db.getSession(async (s) => {
      await s.query(`INSERT INTO ${table} (v) VALUES ($1)`, ["rolledback"]);
      throw new Error("boom");
    }),
    /boom/,
  );
  assert.equal(await count("rolledback"), 0);
});

Deno.test("a nested session is a savepoint: its rollback leaves the outer transaction intact", async () => {
  await using db = testDb();
  await db.getSession(async (s) => {
    await s.query(`INSERT INTO ${table} (v) VALUES ('outer')`);
    await assert.rejects(
      s.getSession(async (inner) => {
        await inner.query(`INSERT INTO ${table} (v) VALUES ('inner')`);
        await inner.query("SELECT 1/0");
      }),
      (e: QueryError) => e.code === "22012",
    );
    await s.getSession(async (inner) => {
      await inner.query(`INSERT INTO ${table} (v) VALUES ('inner2')`);
    });
    await s.query(`INSERT INTO ${table} (v) VALUES ('outer2')`);
  });
  assert.equal(await count("outer"), 1);
  assert.equal(await count("inner"), 0);
  assert.equal(await count("inner2"), 1);
  assert.equal(await count("outer2"), 1);
});

Deno.test("await using: rollback unless committed, never an implicit commit", async () => {
  await using db = testDb();
  {
    await using s = await db.getSession();
    await s.query(`INSERT INTO ${table} (v) VALUES ('disposed')`);
  }
  assert.equal(await count("disposed"), 0);
  {
    await using s = await db.getSession();
    await s.query(`INSERT INTO ${table} (v) VALUES ('explicit')`);
    await s.commit();
    assert.equal(s.state, "committed");
    await assert.rejects(s.query("SELECT 1"), DatabaseConnectionError);
  }
  assert.equal(await count("explicit"), 1);
  assert.equal(db.stats().inUse, 0);
});

Deno.test("isolation level and read-only are honoured; a write in a read-only session fails with 25006", async () => {
  await using db = testDb();
  await db.getSession(async (s) => {
    const { rows } = await s.query("SELECT current_setting('transaction_isolation') AS iso");
    assert.equal(rows[0].iso, "serializable");
  }, { isolation: "serializable" });
  const err = await db.getSession(async (s) => {
    await s.query(`INSERT INTO ${table} (v) VALUES ('ro')`);
  }, { readOnly: true }).catch((e) => e);
  assert.ok(err instanceof QueryError);
  assert.equal(err.code, "25006");
  {
    await using s = await db.getSession({ isolation: "repeatable read", readOnly: true });
    const { rows } = await s.query(
      "SELECT current_setting('transaction_isolation') AS iso, current_setting('transaction_read_only') AS ro",
    );
    assert.deepEqual(rows[0], { iso: "repeatable read", ro: "on" });
  }
});

Deno.test("COMMIT of a failed transaction throws instead of reporting success", async () => {
  await using db = testDb();
  const err = await db.getSession(async (s) => {
    await s.query(`INSERT INTO ${table} (v) VALUES ('failedtx')`);
    await s.query("SELECT 1/0").catch(() => {});
  }).catch((e) => e);
  assert.ok(err instanceof QueryError);
  assert.equal(err.code, "25P02");
  assert.equal(await count("failedtx"), 0);
});

Deno.test("pool_min connections are visible in pg_stat_activity under application_name", async () => {
  const name = appName("min");
  await using db = testDb({ pool_min: 3, application_name: name });
  await db.validateConnection();
  await waitFor(async () => db.stats().total === 3 && (await backends(sql, name)) === 3, 5000, "3 backends");
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(db.stats().total, 3, "no more than pool_min opened");
  assert.equal(await backends(sql, name), 3);
});

Deno.test("pool_max is never exceeded under 200 concurrent callers", async () => {
  const name = appName("max");
  await using db = testDb({ pool_max: 4, application_name: name, pool_acquire_timeout: "20s" });
  let peak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await backends(sql, name));
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  await Promise.all(Array.from({ length: 200 }, (_, i) =>
    i % 2
      ? db.getSession(async (s) => {
        await s.query("SELECT pg_sleep(0.002)");
      })
      : db.query("SELECT pg_sleep(0.001)")));
  sampling = false;
  await sampler;
  assert.ok(peak <= 4, `peak ${peak}`);
  assert.ok(db.stats().total <= 4);
});

Deno.test("PoolTimeoutError after pool_acquire_timeout", async () => {
  await using db = testDb({ pool_max: 1, pool_acquire_timeout: "100ms" });
  await using held = await db.engine.connect();
  const t = performance.now();
  const err = await db.getSession(async () => {}).catch((e) => e);
  assert.ok(err instanceof PoolTimeoutError, String(err));
  assert.ok(performance.now() - t >= 90);
  assert.equal(err.inUse, 1);
  await held.execute("SELECT 1");
});

Deno.test("no connection leaks after 1,000 sessions, half of which throw", async () => {
  const name = appName("leak");
  await using db = testDb({ pool_max: 5, application_name: name });
  let failed = 0;
  await Promise.all(Array.from({ length: 1000 }, (_, i) =>
    db.getSession(async (s) => {
      await s.query("SELECT 1");
      if (i % 2) throw new Error("half");
    }).catch(() => failed++)));
  assert.equal(failed, 500);
  const stats = db.stats();
  assert.equal(stats.inUse, 0);
  assert.equal(stats.leases.length, 0);
  assert.ok(stats.total <= 5);
  assert.equal(await backends(sql, name), stats.total);
  // Every pooled connection is idle on the server, not idle in transaction.
  const [{ n }] = await sql`SELECT count(*)::int AS n FROM pg_stat_activity
    WHERE application_name = ${name} AND state <> 'idle'`;
  assert.equal(n, 0);
});

Deno.test("a connection returned inside a transaction is never handed out dirty", async () => {
  await using db = testDb({ pool_max: 1 });
  {
    await using conn = await db.engine.connect();
    await conn.execute("BEGIN");
    await conn.execute(`INSERT INTO ${table} (v) VALUES ('dirty')`);
  }
  const { rows } = await db.query("SELECT now() = statement_timestamp() AS fresh");
  assert.equal(rows[0].fresh, true, "next caller must not be inside the old transaction");
  assert.equal(await count("dirty"), 0);
  {
    await using conn = await db.engine.connect();
    await conn.execute("BEGIN");
    await conn.execute("SELECT 1/0").catch(() => {});
  }
  assert.deepEqual((await db.query("SELECT 1 AS ok")).rows, [{ ok: 1 }]);
});

Deno.test("scoped sessions: db.query inside getSession joins the caller's transaction", async () => {
  await using db = testDb();
  const helper = async (v: string) => {
    await db.query(`INSERT INTO ${table} (v) VALUES ($1)`, [v]);
    return db.currentSession();
  };
  await assert.rejects(
    db.getSession(async (s) => {
      const seen = await helper("scoped");
      assert.equal(seen, s);
      const [{ pid }] = await db.sql`SELECT pg_backend_pid() AS pid`;
      const { rows } = await s.query("SELECT pg_backend_pid() AS pid");
      assert.equal(pid, rows[0].pid);
      // A nested db.getSession inside the scope is a savepoint of the same transaction.
      await db.getSession(async (inner) => {
        assert.equal(inner.depth, 1);
        await helper("scoped-inner");
      });
      throw new Error("undo all");
    }),
    /undo all/,
  );
  assert.equal(await count("scoped"), 0);
  assert.equal(await count("scoped-inner"), 0);
  assert.equal(db.currentSession(), undefined);
});

Deno.test("an aborted query is cancelled on the server and its connection reused when clean", async () => {
  const name = appName("abort");
  await using db = testDb({ pool_max: 1, application_name: name });
  const ctl = new AbortController();
  const t = performance.now();
  const p = db.query("SELECT pg_sleep(30)", [], { signal: ctl.signal });
  await waitFor(
    async () => {
      const [{ n }] = await sql`SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE application_name = ${name} AND query LIKE 'SELECT pg_sleep%' AND state = 'active'`;
      return n === 1;
    },
    5000,
    "pg_sleep to start",
  );
  ctl.abort();
  const err = await p.catch((e) => e);
  assert.ok(err instanceof QueryCancelledError, String(err));
  assert.deepEqual([err.code, err.phase, err.reachedServer], ["QUERY_ABORTED", "running", true]);
  assert.ok(err.cause instanceof QueryError && err.cause.code === "57014", "the server's 57014 is the cause");
  assert.ok(performance.now() - t < 5000);
  const timeoutErr = await db.query("SELECT pg_sleep(30)", [], { timeout: 100 }).catch((e) => e);
  assert.ok(timeoutErr instanceof QueryCancelledError, String(timeoutErr));
  assert.equal(timeoutErr.code, "QUERY_TIMEOUT");
  assert.match(timeoutErr.message, /timed out after 100 ms/);
  assert.deepEqual((await db.query("SELECT 2 AS two")).rows, [{ two: 2 }]);
  assert.equal(db.stats().opened, 1, "a cleanly cancelled connection is reused");
});

Deno.test("close() leaves no backend behind and rejects later work", async () => {
  const name = appName("close");
  const db = testDb({ pool_min: 2, application_name: name });
  await db.validateConnection();
  await Promise.all(Array.from({ length: 20 }, () => db.query("SELECT 1")));
  await waitFor(async () => (await backends(sql, name)) >= 2, 5000, "backends");
  await db.close();
  await waitFor(async () => (await backends(sql, name)) === 0, 5000, "no backends");
  await assert.rejects(db.query("SELECT 1"), DatabaseConnectionError);
});

Deno.test("close() waits for checked-out work to finish", async () => {
  await using db = testDb();
  const session = await db.getSession();
  const closing = db.close();
  await session.query(`INSERT INTO ${table} (v) VALUES ('drain')`);
  await session.commit();
  await closing;
  assert.equal(await count("drain"), 1);
});

Deno.test("teardown", async () => {
  await sql.unsafe(`DROP TABLE IF EXISTS ${table}`);
  await sql.end();
});
