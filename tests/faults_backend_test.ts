// Fault scenarios 3, 4 and 6 on a throwaway cluster: backends killed while idle, idle_session_timeout,
// 500 callers on 5 connections; and getSession's retry on real serialization failures, deadlocks and lost
// connections.
import assert from "node:assert/strict";
import { DatabaseConnectionError, PoolTimeoutError, QueryError } from "../src/errors.ts";
import { startCluster } from "./helpers/cluster.ts";
import { admin, appName, testDb, waitFor } from "./helpers/db.ts";
import { assertNoLeak, idsWrittenOnce, settleWithin, sleep } from "./_faults.ts";

const pg = await startCluster({ settings: { deadlock_timeout: "50ms" } });
const url = pg.url("postgres");
const sql = admin(url);
await sql.unsafe(`
  CREATE TABLE term_rows (id int NOT NULL, via text NOT NULL);
  CREATE TABLE idle_rows (id int NOT NULL, via text NOT NULL);
  CREATE TABLE retry_rows (id int NOT NULL, via text NOT NULL);
  CREATE TABLE acct (id int PRIMARY KEY, n int NOT NULL);
  INSERT INTO acct VALUES (1, 0), (2, 0);
  CREATE ROLE idler LOGIN;
  ALTER ROLE idler SET idle_session_timeout = '200ms';
  GRANT ALL ON idle_rows TO idler;
`);

const terminate = (name: string) =>
  sql`SELECT count(pg_terminate_backend(pid, 5000))::int AS n FROM pg_stat_activity WHERE application_name = ${name}`;

Deno.test("every backend killed with pg_terminate_backend while idle: the next 100 queries all succeed", async () => {
  const name = appName("term");
  await using db = testDb({ pool_min: 4, pool_max: 4, application_name: name }, {}, url);
  let lost = 0;
  db.on("disconnect", (e) => e.detail.reason === "error" && lost++);
  const recoveries: number[] = [];
  for (const via of ["query", "session"] as const) {
    await Promise.all(Array.from({ length: 40 }, () => db.query("SELECT 1")));
    await waitFor(() => db.stats().total === 4 && db.stats().inUse === 0, 5000, "4 idle connections");
    const [{ n }] = await terminate(name); // returns once the backends have exited
    assert.equal(n, 4);
    const killed = performance.now();
    let first = Infinity;
    const results = await Promise.allSettled(Array.from({ length: 100 }, async (_, i) => {
      const p = via === "query"
        ? db.query(`INSERT INTO term_rows (id, via) VALUES ($1, 'term')`, [i])
        : db.getSession((s) => s.query(`INSERT INTO term_rows (id, via) VALUES ($1, 'term')`, [1000 + i]));
      await settleWithin(p, 10_000, `${via} ${i}`);
      first = Math.min(first, performance.now());
    }));
    const failed = results.filter((r) => r.status === "rejected").map((r) => String(r.reason));
    assert.deepEqual(failed, [], `${via}: every query after the kill succeeds`);
    recoveries.push(first - killed);
  }
  console.log(`terminate -> next success: ${recoveries.map((r) => `${r.toFixed(1)} ms`).join(", ")} (query, session)`);
  assert.equal(lost, 8, "each killed connection was discarded once");
  const ids = await idsWrittenOnce(sql, "term_rows");
  for (let i = 0; i < 100; i++) assert.ok(ids.has(i) && ids.has(1000 + i), `row ${i} written`);
  await assertNoLeak(db, sql, name);
});

Deno.test("every idle backend killed at the very moment statements are sent: sessions all succeed, nothing runs twice", async () => {
  const name = appName("kill_now");
  await using db = testDb({ pool_min: 4, pool_max: 4, application_name: name }, {}, url);
  let id = 10_000;
  const outcome = { sessions: 0, queries: 0, queryFailures: [] as string[] };
  const written = new Set<number>();
  for (let round = 0; round < 3; round++) {
    for (const via of ["session", "query"] as const) {
      await Promise.all(Array.from({ length: 40 }, () => db.query("SELECT 1")));
      await waitFor(() => db.stats().total === 4 && db.stats().inUse === 0, 5000, "4 idle connections");
      // pg_terminate_backend without a timeout returns at once: the backends die while the statements arrive.
      await sql`SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = ${name}`;
      const results = await Promise.allSettled(Array.from({ length: 50 }, () => {
        const n = ++id;
        const insert = () => `INSERT INTO term_rows (id, via) VALUES (${n}, 'now')`;
        const p = via === "session"
          ? db.getSession((s) => s.query(insert()))
          : db.query("INSERT INTO term_rows (id, via) VALUES ($1, 'now')", [n]);
        return settleWithin(p, 10_000, `${via} ${n}`).then(() => written.add(n));
      }));
      for (const r of results) {
        if (r.status === "fulfilled") outcome[via === "session" ? "sessions" : "queries"]++;
        else {
          // What may still fail: a statement the runtime saw fail before the backend's last words came in.
          assert.ok(via === "query", `a session failed: ${r.reason}`);
          assert.ok(r.reason instanceof DatabaseConnectionError && r.reason.retryable, String(r.reason));
          outcome.queryFailures.push(String(r.reason.code));
        }
      }
    }
  }
  console.log(
    `killed at once: ${outcome.sessions}/150 sessions and ${outcome.queries}/150 parameterised inserts succeeded; ` +
      `insert failures: ${outcome.queryFailures.join(", ") || "none"}`,
  );
  assert.equal(outcome.sessions, 150, "BEGIN is sent again when its connection dies under it");
  // Resent only when provably unsent: every insert reported as done is there, and none twice.
  const ids = await idsWrittenOnce(sql, "term_rows");
  for (const n of written) assert.ok(ids.has(n), `insert ${n} reported done but missing`);
  await assertNoLeak(db, sql, name);
});

Deno.test("idle_session_timeout kills idle connections: no caller ever sees an error", async () => {
  const name = appName("idle");
  await using db = testDb({ user: "idler", pool_min: 2, pool_max: 4, application_name: name }, {}, url);
  let killed = 0;
  db.on("disconnect", (e) => e.detail.reason === "error" && killed++);
  let id = 0;
  const errors: string[] = [];
  for (let round = 0; round < 14; round++) {
    // Idle for 150-360 ms: around the server's 200 ms, so some connections die just as work arrives.
    await sleep(150 + (round * 37) % 210);
    const burst: Promise<unknown>[] = [
      ...Array.from({ length: 5 }, () => db.query("SELECT 1")),
      db.query("INSERT INTO idle_rows (id, via) VALUES ($1, 'idle')", [++id]),
      db.getSession((s) => s.query("INSERT INTO idle_rows (id, via) VALUES ($1, 'idle')", [++id])),
      db.engine.connect().then(async (c) => {
        await c.query("SELECT 1");
        await c.release();
      }),
    ];
    for (const r of await Promise.allSettled(burst.map((p) => settleWithin(p, 10_000)))) {
      if (r.status === "rejected") errors.push(String(r.reason));
    }
  }
  assert.deepEqual(errors, []);
  assert.ok(killed >= 5, `the server closed ${killed} idle connections`);
  const ids = await idsWrittenOnce(sql, "idle_rows");
  assert.equal(ids.size, id);
  // The pool keeps refilling pool_min while the server keeps closing them: compare when both agree.
  await assertNoLeak(db, sql, name);
});

Deno.test("500 callers on pool_max 5 with a 100 ms acquire timeout: the rest get PoolTimeoutError, the pool recovers", async () => {
  const name = appName("flood");
  await using db = testDb({ pool_max: 5, application_name: name, pool_acquire_timeout: "100ms" }, {}, url);
  let exhausted = 0;
  db.on("pool-exhausted", () => exhausted++);
  const t0 = performance.now();
  const outcomes = await Promise.all(Array.from({ length: 500 }, async (_, i) => {
    const started = performance.now();
    try {
      await settleWithin<unknown>(
        i % 5 === 0
          ? db.engine.connect().then(async (c) => {
            await c.query("SELECT pg_sleep(0.03)");
            await c.release();
          })
          : db.getSession((s) => s.query("SELECT pg_sleep(0.03)")),
        10_000,
      );
      return "ok";
    } catch (e) {
      assert.ok(e instanceof PoolTimeoutError, String(e));
      assert.match(e.message, /no connection within \d+ ms: \d+ of 5 in use/);
      const waited = performance.now() - started;
      assert.ok(waited < 100 + 1000, `timed out after ${Math.round(waited)} ms`);
      return "timeout";
    }
  }));
  const ok = outcomes.filter((o) => o === "ok").length;
  const timeouts = outcomes.length - ok;
  console.log(`flood: ${ok} served, ${timeouts} PoolTimeoutError in ${Math.round(performance.now() - t0)} ms`);
  assert.ok(ok >= 5 && timeouts > 0, `${ok} served, ${timeouts} timed out`);
  assert.equal(db.stats().timeouts, timeouts);
  assert.ok(exhausted > 0, "pool-exhausted was emitted");
  // Recovered: the same pool serves new work at once, within pool_max.
  await Promise.all(Array.from({ length: 50 }, () => db.getSession((s) => s.query("SELECT 1"))));
  assert.ok(db.stats().total <= 5);
  await assertNoLeak(db, sql, name);
});

Deno.test("getSession({ retry }) re-runs the callback on a real serialization failure (40001)", async () => {
  await using db = testDb({ pool_max: 4 }, {}, url);
  const conflict = async (retry: number | undefined) => {
    let runs = 0;
    const value = await db.getSession(async (s) => {
      runs++;
      const [{ n }] = await s.sql<{ n: number }>`SELECT n FROM acct WHERE id = 1`;
      if (runs === 1) {
        // Another transaction (outside this one's scope) changes the row after our snapshot was taken.
        await sql`UPDATE acct SET n = n + 100 WHERE id = 1`;
      }
      await s.query("UPDATE acct SET n = $1 WHERE id = 1", [n + 1]);
      return n + 1;
    }, { isolation: "repeatable read", retry });
    return { runs, value };
  };
  const err = await conflict(undefined).catch((e) => e);
  assert.ok(err instanceof QueryError && err.code === "40001", String(err));
  const [{ n: before }] = await sql`SELECT n FROM acct WHERE id = 1`;
  const { runs, value } = await conflict(3);
  assert.equal(runs, 2, "run again once after the serialization failure");
  const [{ n: after }] = await sql`SELECT n FROM acct WHERE id = 1`;
  assert.equal(after, value);
  assert.equal(after, before + 100 + 1, "the concurrent update and ours both count, once each");
});

Deno.test("getSession({ retry }) re-runs deadlock victims (40P01); never re-runs other errors", async () => {
  await using db = testDb({ pool_max: 4 }, {}, url);
  let runs = 0;
  let ready = 0;
  const bothLocked = () => waitFor(() => ready >= 2, 5000, "both first locks");
  const transfer = (first: number, second: number) =>
    db.getSession(async (s) => {
      runs++;
      await s.query("UPDATE acct SET n = n + 1 WHERE id = $1", [first]);
      ready++;
      await bothLocked();
      await s.query("UPDATE acct SET n = n + 1 WHERE id = $1", [second]);
    }, { retry: { attempts: 3, baseDelay: 5 } });
  const [{ n: n1 }, { n: n2 }] = await sql`SELECT n FROM acct ORDER BY id`;
  await Promise.all([transfer(1, 2), transfer(2, 1)]);
  assert.equal(runs, 3, "the deadlock victim ran again, the other once");
  const [{ n: m1 }, { n: m2 }] = await sql`SELECT n FROM acct ORDER BY id`;
  assert.deepEqual([m1 - n1, m2 - n2], [2, 2]);

  let other = 0;
  const dup = await db.getSession(async (s) => {
    other++;
    await s.query("INSERT INTO acct VALUES (1, 0)");
  }, { retry: 5 }).catch((e) => e);
  assert.ok(dup instanceof QueryError && dup.code === "23505");
  assert.equal(other, 1, "a unique violation is not retried");
});

Deno.test("getSession({ retry }) re-runs a transaction whose connection died before COMMIT, writing once", async () => {
  const name = appName("retrylost");
  await using db = testDb({ pool_max: 2, application_name: name }, {}, url);
  let runs = 0;
  const seen: unknown[] = [];
  await db.getSession(async (s) => {
    runs++;
    await s.query("INSERT INTO retry_rows (id, via) VALUES (7, 'retry')");
    if (runs === 1) {
      const [{ pid }] = await s.sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`;
      await sql`SELECT pg_terminate_backend(${pid}, 5000)`;
      try {
        await s.query("SELECT 1");
      } catch (e) {
        seen.push(e);
        throw e;
      }
    }
  }, { retry: 3 });
  assert.equal(runs, 2);
  assert.ok(seen[0] instanceof DatabaseConnectionError && seen[0].retryable, String(seen[0]));
  const ids = await idsWrittenOnce(sql, "retry_rows");
  assert.ok(ids.has(7));
  assert.equal((await sql`SELECT count(*)::int AS n FROM retry_rows WHERE id = 7`)[0].n, 1);
  await assertNoLeak(db, sql, name);
});

Deno.test("teardown", async () => {
  await sql.end();
  await pg.destroy();
});
